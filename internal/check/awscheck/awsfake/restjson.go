package awsfake

import (
	"net/http"
	"strings"
)

// restRoute is one operation of a REST-JSON service: its signing name, HTTP
// method and path.
type restRoute struct{ service, method, path string }

// HandleRESTJSON serves a REST-JSON operation (AWS Backup, Lambda …): a
// request of service signed with method on path is operation, answered by
// h like the other protocols' handlers (scripted failures and call counts
// included). The handler reads the query string from Request.Form and a
// JSON body from Request.Input, and returns a value to encode as JSON.
func (s *Server) HandleRESTJSON(service, method, path, operation string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[restRoute{service, method, strings.TrimSuffix(path, "/")}] = operation
	s.handlers[opKey{service, operation}] = h
}

// restJSON makes a REST request of a registered route a REST-JSON call.
func (s *Server) restJSON(r *http.Request, req *Request, body []byte) bool {
	s.mu.Lock()
	op, ok := s.routes[restRoute{req.Service, r.Method, strings.TrimSuffix(r.URL.Path, "/")}]
	s.mu.Unlock()
	if !ok {
		return false
	}
	req.Protocol, req.Operation, req.Form = RESTJSON, op, r.URL.Query()
	req.Input, _ = decodeJSON(body)
	return true
}
