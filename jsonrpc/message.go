package jsonrpc

import (
	"errors"
	"fmt"
)

// Error is a JSON-RPC 2.0 error object.
type Error struct {
	// Code is the JSON-RPC error code; CLN passes it through to clients.
	Code int64 `json:"code"`
	// Message is a one-line, human-readable description.
	Message string `json:"message"`
	// Data carries structured details, or nil.
	Data any `json:"data,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// Standard JSON-RPC 2.0 errors; handlers wrap them with %w.
var (
	ErrParse          = &Error{Code: -32700, Message: "jsonrpc: parse error"}
	ErrInvalidRequest = &Error{Code: -32600, Message: "jsonrpc: invalid request"}
	ErrMethodNotFound = &Error{Code: -32601, Message: "jsonrpc: method not found"}
	ErrInvalidParams  = &Error{Code: -32602, Message: "jsonrpc: invalid params"}
	ErrInternal       = &Error{Code: -32603, Message: "jsonrpc: internal error"}
)

// ErrShutdown, wrapped in a handler's error, makes Serve stop without
// answering and return that error: a plugin that cannot run safely exits,
// which an important-plugin turns into lightningd shutting down.
var ErrShutdown = errors.New("jsonrpc: shutting down")

// ErrTruncated is the cause given to a Fallback for a message longer than
// the Reader's maximum or cut off by end of input.
var ErrTruncated = errors.New("jsonrpc: message truncated")

// Request is a request (ID set) or notification (ID nil) from lightningd.
type Request struct {
	ID     Value // raw, echoed byte for byte
	Method string
	Params Value
}

// ParseRequest reads the first "id", "method" and "params" members, as
// lightningd does. It returns what it found even when data is malformed or
// truncated, with the error.
func ParseRequest(data Value) (Request, error) {
	var req Request
	var seenID, seenMethod, seenParams bool
	var methodErr error
	err := data.Members(func(k string, v Value) bool {
		switch {
		case k == "id" && !seenID:
			req.ID, seenID = v, true
		case k == "method" && !seenMethod:
			req.Method, methodErr = v.String()
			seenMethod = true
		case k == "params" && !seenParams:
			req.Params, seenParams = v, true
		}
		return true
	})
	if err == nil && methodErr != nil {
		err = fmt.Errorf("jsonrpc: method is not a string: %w", methodErr)
	}
	if err == nil && !seenMethod {
		err = fmt.Errorf("jsonrpc: request has no method")
	}
	return req, err
}

// Errorf returns an error with code's code and a formatted message.
func Errorf(code *Error, format string, args ...any) *Error {
	return &Error{Code: code.Code, Message: fmt.Sprintf(format, args...)}
}

// toError returns the JSON-RPC error for err: err itself if it is an
// *Error, else the code of the *Error it wraps (or an internal error) with
// err's text as message.
func toError(err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e) && e == err:
		return e
	case e != nil:
		return &Error{Code: e.Code, Message: err.Error(), Data: e.Data}
	}
	return &Error{Code: ErrInternal.Code, Message: err.Error()}
}
