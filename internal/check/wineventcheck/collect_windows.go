//go:build windows

package wineventcheck

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The Windows Event Log API (wevtapi.dll), called through x/sys/windows.
var (
	wevtapi                      = windows.NewLazySystemDLL("wevtapi.dll")
	procEvtQuery                 = wevtapi.NewProc("EvtQuery")
	procEvtNext                  = wevtapi.NewProc("EvtNext")
	procEvtRender                = wevtapi.NewProc("EvtRender")
	procEvtClose                 = wevtapi.NewProc("EvtClose")
	procEvtOpenPublisherMetadata = wevtapi.NewProc("EvtOpenPublisherMetadata")
	procEvtFormatMessage         = wevtapi.NewProc("EvtFormatMessage")
)

const (
	evtQueryChannelPath      = 0x1
	evtQueryForwardDirection = 0x100
	evtQueryReverseDirection = 0x200
	evtRenderEventXML        = 1
	evtFormatMessageEvent    = 1
	errNoMoreItems           = windows.Errno(259) // ERROR_NO_MORE_ITEMS
	maxEventsPerRun          = 10000
)

type evtHandle uintptr

func evtClose(h evtHandle) {
	if h != 0 {
		procEvtClose.Call(uintptr(h))
	}
}

func evtQuery(channel, query string, flags uint32) (evtHandle, error) {
	ch, err := windows.UTF16PtrFromString(channel)
	if err != nil {
		return 0, err
	}
	q, err := windows.UTF16PtrFromString(query)
	if err != nil {
		return 0, err
	}
	r, _, callErr := procEvtQuery.Call(0, uintptr(unsafe.Pointer(ch)), uintptr(unsafe.Pointer(q)), uintptr(flags))
	if r == 0 {
		return 0, fmt.Errorf("EvtQuery: %w", callErr)
	}
	return evtHandle(r), nil
}

// evtNext fills hs with up to len(hs) events; 0 at the end.
func evtNext(rs evtHandle, hs []evtHandle) (int, error) {
	var n uint32
	r, _, callErr := procEvtNext.Call(uintptr(rs), uintptr(len(hs)), uintptr(unsafe.Pointer(&hs[0])), 2000, 0, uintptr(unsafe.Pointer(&n)))
	if r == 0 {
		if errors.Is(callErr, errNoMoreItems) || errors.Is(callErr, windows.ERROR_TIMEOUT) {
			return 0, nil
		}
		return 0, fmt.Errorf("EvtNext: %w", callErr)
	}
	return int(n), nil
}

func evtRenderXML(h evtHandle, buf []uint16) (string, []uint16, error) {
	for tries := 0; tries < 3; tries++ {
		var used, props uint32
		r, _, callErr := procEvtRender.Call(0, uintptr(h), evtRenderEventXML, uintptr(len(buf)*2), uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&used)), uintptr(unsafe.Pointer(&props)))
		if r != 0 {
			return windows.UTF16ToString(buf[:min(int(used/2), len(buf))]), buf, nil
		}
		if errors.Is(callErr, windows.ERROR_INSUFFICIENT_BUFFER) {
			buf = make([]uint16, used/2+1)
			continue
		}
		return "", buf, fmt.Errorf("EvtRender: %w", callErr)
	}
	return "", buf, errors.New("EvtRender: buffer keeps growing")
}

func evtFormatMessage(pub, ev evtHandle) string {
	if pub == 0 {
		return ""
	}
	buf := make([]uint16, 1024)
	for tries := 0; tries < 3; tries++ {
		var used uint32
		r, _, callErr := procEvtFormatMessage.Call(uintptr(pub), uintptr(ev), 0, 0, 0, evtFormatMessageEvent, uintptr(len(buf)), uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&used)))
		if r != 0 {
			return windows.UTF16ToString(buf[:min(int(used), len(buf))])
		}
		if errors.Is(callErr, windows.ERROR_INSUFFICIENT_BUFFER) {
			buf = make([]uint16, used+1)
			continue
		}
		return ""
	}
	return ""
}

func openPublisher(name string) evtHandle {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return 0
	}
	r, _, _ := procEvtOpenPublisherMetadata.Call(0, uintptr(unsafe.Pointer(p)), 0, 0, 0)
	return evtHandle(r)
}

func collectEvents(ctx context.Context, channel, xpath string, after uint64, started bool) ([]Event, uint64, error) {
	if err := wevtapi.Load(); err != nil {
		return nil, 0, fmt.Errorf("wevtapi.dll: %w", err)
	}
	buf := make([]uint16, 8192)
	if !started {
		// First run: remember the newest record, report nothing old.
		rs, err := evtQuery(channel, "*", evtQueryChannelPath|evtQueryReverseDirection)
		if err != nil {
			return nil, 0, err
		}
		defer evtClose(rs)
		hs := make([]evtHandle, 1)
		n, err := evtNext(rs, hs)
		if err != nil || n == 0 {
			return nil, 0, err
		}
		defer evtClose(hs[0])
		x, _, err := evtRenderXML(hs[0], buf)
		if err != nil {
			return nil, 0, err
		}
		e, err := ParseEventXML([]byte(x))
		if err != nil {
			return nil, 0, err
		}
		return nil, e.RecordID, nil
	}
	rs, err := evtQuery(channel, xpath, evtQueryChannelPath|evtQueryForwardDirection)
	if err != nil {
		return nil, 0, err
	}
	defer evtClose(rs)
	pubs := map[string]evtHandle{}
	defer func() {
		for _, h := range pubs {
			evtClose(h)
		}
	}()
	var events []Event
	last := after
	hs := make([]evtHandle, 64)
	for len(events) < maxEventsPerRun && ctx.Err() == nil {
		n, err := evtNext(rs, hs)
		if err != nil {
			return events, last, err
		}
		if n == 0 {
			break
		}
		for _, h := range hs[:n] {
			var x string
			x, buf, err = evtRenderXML(h, buf)
			if err == nil {
				if e, perr := ParseEventXML([]byte(x)); perr == nil {
					if e.Provider != "" {
						pub, ok := pubs[e.Provider]
						if !ok {
							pub = openPublisher(e.Provider)
							pubs[e.Provider] = pub
						}
						if m := evtFormatMessage(pub, h); m != "" {
							e.Message = m
						}
					}
					events = append(events, e)
					if e.RecordID > last {
						last = e.RecordID
					}
				}
			}
			evtClose(h)
		}
	}
	return events, last, nil
}
