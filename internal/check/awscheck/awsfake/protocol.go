package awsfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// XML is literal XML a query-protocol handler returns.
type XML string

var mapType = reflect.TypeOf(map[string]any{})

// requestID is constant: tests compare answers byte for byte.
const requestID = "8f6a2c1e-0000-4000-8000-6d616d6f7269"

func writeResult(w http.ResponseWriter, req *Request, out any) {
	switch req.Protocol {
	case EC2Query, AWSQuery:
		inner := ""
		switch v := out.(type) {
		case XML:
			inner = string(v)
		case string:
			inner = v
		case nil:
		default:
			panic(fmt.Sprintf("awsfake: %s %s handler returned %T, want XML", req.Service, req.Operation, out))
		}
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		if req.Protocol == EC2Query {
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<%sResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>%s</requestId>%s</%sResponse>`,
				req.Operation, requestID, inner, req.Operation)
			return
		}
		fmt.Fprintf(w, `<%sResponse xmlns="https://%s.amazonaws.com/doc/"><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
			req.Operation, req.Service, req.Operation, inner, req.Operation, requestID, req.Operation)
	case JSON, RESTJSON:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if req.Protocol == RESTJSON {
			w.Header().Set("Content-Type", "application/json")
		}
		if out == nil {
			out = map[string]any{}
		}
		if err := json.NewEncoder(w).Encode(out); err != nil {
			panic(fmt.Sprintf("awsfake: encode %s answer: %v", req.Operation, err))
		}
	case CBOR:
		w.Header().Set("Content-Type", "application/cbor")
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		if out == nil {
			out = map[string]any{}
		}
		b, err := cborEnc.Marshal(out)
		if err != nil {
			panic(fmt.Sprintf("awsfake: encode %s answer: %v", req.Operation, err))
		}
		w.Write(b)
	}
}

func writeError(w http.ResponseWriter, req *Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: 500, Code: "InternalFailure", Message: err.Error()}
	}
	status := e.Status
	if status == 0 {
		status = 400
	}
	msg := html.EscapeString(e.Message)
	w.Header().Set("X-Amzn-RequestId", requestID)
	switch req.Protocol {
	case EC2Query:
		code := e.Code
		if code == "Throttling" {
			code = "RequestLimitExceeded"
		}
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`, code, msg, requestID)
	case AWSQuery, REST:
		kind := "Sender"
		if status >= 500 {
			kind = "Receiver"
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, kind, e.Code, msg, requestID)
	case JSON:
		code := jsonCode(e.Code)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": e.Message})
	case RESTJSON:
		code := jsonCode(e.Code)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"Code": code, "Message": e.Message})
	case CBOR:
		w.Header().Set("Content-Type", "application/cbor")
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		// Services that moved from awsquery keep their old codes in this header.
		kind := "Sender"
		if status >= 500 {
			kind = "Receiver"
		}
		w.Header().Set("X-Amzn-Query-Error", e.Code+";"+kind)
		w.WriteHeader(status)
		b, _ := cborEnc.Marshal(map[string]any{"__type": "com.amazonaws." + req.Service + "#" + e.Code, "message": e.Message})
		w.Write(b)
	}
}

// jsonCode is the JSON protocols' spelling of a query error code.
func jsonCode(code string) string {
	switch code {
	case "Throttling":
		return "ThrottlingException"
	case "AccessDenied":
		return "AccessDeniedException"
	}
	return code
}

var (
	cborEnc = func() cbor.EncMode {
		m, err := cbor.EncOptions{Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()
		if err != nil {
			panic(err)
		}
		return m
	}()
	cborDec = func() cbor.DecMode {
		m, err := cbor.DecOptions{DefaultMapType: mapType, TimeTagToAny: cbor.TimeTagToTime}.DecMode()
		if err != nil {
			panic(err)
		}
		return m
	}()
)

func decodeCBOR(b []byte) (map[string]any, error) {
	if len(b) == 0 {
		return map[string]any{}, nil
	}
	var m map[string]any
	if err := cborDec.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("body is not CBOR: %w", err)
	}
	return m, nil
}

func decodeJSON(b []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]any{}, nil
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	return m, nil
}

// Time reads a timestamp from a decoded body: CBOR time, epoch seconds
// (JSON numbers) or RFC 3339 text.
func Time(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return epoch(f), err == nil
	case float64:
		return epoch(x), true
	case uint64:
		return time.Unix(int64(x), 0), true
	case int64:
		return time.Unix(x, 0), true
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		return t, err == nil
	}
	return time.Time{}, false
}

func epoch(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// Escape escapes text for XML answers.
func Escape(s string) string { return html.EscapeString(s) }

// Members lists the values of a query list parameter (InstanceId.1,
// InstanceId.2, … or Filter.1.Value.1 …): every form key with prefix
// followed by a number, in order.
func Members(form map[string][]string, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := form[fmt.Sprintf("%s.%d", prefix, i)]
		if !ok || len(v) == 0 {
			return out
		}
		out = append(out, v[0])
	}
}

// Field returns a string field of a decoded JSON/CBOR body ("" if absent).
func Field(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return strings.TrimSpace(s)
}
