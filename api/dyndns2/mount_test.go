package dyndns2

import "github.com/labstack/echo/v4"

// mount registers h's paths on e as the route table (api/httpserver) does;
// these tests cannot import it (it imports this package).
func mount(e *echo.Echo, h *Handler) {
	for _, path := range UpdatePaths {
		e.Match(UpdateMethods, path, h.Update)
		e.RouteNotFound(path, h.Update)
	}
	for _, path := range CheckIPPaths {
		e.Match(CheckIPMethods, path, h.CheckIP)
		e.RouteNotFound(path, h.CheckIP)
	}
}
