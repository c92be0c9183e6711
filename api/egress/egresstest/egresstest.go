// Package egresstest gives tests an HTTP endpoint on 127.0.0.1 that
// misbehaves on purpose (closes, resets, answers half, never answers) and
// counts, on its side of the wire, every request it received: what a
// provider would count before banning the broker.
package egresstest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
)

// Mode is how the provider treats the next requests.
type Mode int

const (
	// Answer answers with the status and body of SetAnswer and keeps the
	// connection open for the next request, as a healthy server does.
	Answer Mode = iota
	// Close reads the request and closes the connection without a word.
	Close
	// Reset reads the request and resets the connection (TCP RST).
	Reset
	// Half sends the status line, the headers and half of the announced
	// body, then closes.
	Half
	// Slow reads the request and never answers; it closes when the client
	// gives up.
	Slow
)

func (m Mode) String() string {
	return [...]string{"answer", "close", "reset", "half answer", "slow answer"}[m]
}

// Modes are the misbehaviours, for table tests.
func Modes() []Mode { return []Mode{Close, Reset, Half, Slow} }

// Provider is the endpoint. URL is http://127.0.0.1:<port>.
type Provider struct {
	URL string

	ln       net.Listener
	mu       sync.Mutex
	mode     Mode
	status   int
	body     string
	requests int
	conns    map[net.Conn]bool
	wg       sync.WaitGroup
}

// New starts a provider that answers 200 "good" until told otherwise; it
// stops with the test.
func New(t testing.TB) *Provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{URL: "http://" + ln.Addr().String(), ln: ln, status: http.StatusOK, body: "good", conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// SetMode changes how the next requests are treated.
func (p *Provider) SetMode(m Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
}

// SetAnswer sets what Answer (and, cut in half, Half) sends.
func (p *Provider) SetAnswer(status int, body string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status, p.body = status, body
}

// Requests is how many requests arrived so far (counted when a request's
// header has been read).
func (p *Provider) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

func (p *Provider) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns[c] = true
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Provider) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Provider) serve(c net.Conn) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		_ = c.Close()
	}()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		p.mu.Lock()
		p.requests++
		mode, status, body := p.mode, p.status, p.body
		p.mu.Unlock()
		switch mode {
		case Answer:
			if _, err := fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
				status, http.StatusText(status), len(body), body); err != nil || req.Close {
				return
			}
		case Close:
			return
		case Reset:
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			return
		case Half:
			_, _ = fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
				status, http.StatusText(status), 2*len(body)+2, body)
			return
		case Slow:
			_, _ = io.Copy(io.Discard, br) // until the client gives up
			return
		}
	}
}
