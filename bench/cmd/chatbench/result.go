package main

import "time"

// Result is what one invocation measured; -json prints it as one line.
// Exactly one of Traffic, Idle and Drain is set, per scenario.
type Result struct {
	Scenario string `json:"scenario"`
	Protocol string `json:"protocol"`
	Label    string `json:"label,omitempty"`
	URL      string `json:"url"`
	Date     string `json:"date"`

	Clients       int            `json:"clients"` // connected
	ConnectFailed int            `json:"connect_failed"`
	DialError     string         `json:"dial_error,omitempty"` // the first failure
	Dropped       int64          `json:"dropped"`              // closed by the server side
	DropCodes     map[string]int `json:"drop_codes,omitempty"` // by close code; -1: no close frame

	Traffic *TrafficResult `json:"traffic,omitempty"` // fanout, dm (the best step of a sweep)
	Sweep   *SweepResult   `json:"sweep,omitempty"`
	Idle    *IdleResult    `json:"idle,omitempty"`
	Drain   *DrainResult   `json:"drain,omitempty"`
}

// TrafficResult is one measurement window of fanout or dm traffic.
type TrafficResult struct {
	Senders     int     `json:"senders"`
	TargetRate  float64 `json:"target_msgs_per_s"`
	SendSeconds float64 `json:"send_seconds"`
	Sent        int64   `json:"sent"`
	OfferedRate float64 `json:"offered_msgs_per_s"` // sent / send time

	Recipients     int     `json:"recipients_per_msg"`
	Expected       int64   `json:"expected_deliveries"`
	Deliveries     int64   `json:"deliveries"`
	Loss           int64   `json:"loss"` // expected - received (negative: duplicates)
	Seconds        float64 `json:"seconds"`
	DeliveredRate  float64 `json:"delivered_msgs_per_s"` // deliveries / recipients / seconds
	DeliveriesPerS float64 `json:"deliveries_per_s"`

	Latency latencySummary `json:"latency"`

	Stale       int64          `json:"stale,omitempty"`        // deliveries of an earlier window
	OrderErrors int64          `json:"order_errors,omitempty"` // duplicates or reorderings seen
	OrderCheck  bool           `json:"order_checked"`
	Receipts    int64          `json:"receipts,omitempty"`
	WriteErrors int64          `json:"write_errors,omitempty"`
	Errors      map[string]int `json:"errors,omitempty"` // error frames by code
	Dropped     int64          `json:"dropped,omitempty"`

	CPU

	Pass   *bool  `json:"pass,omitempty"` // sweep steps: met the criterion
	Reason string `json:"reason,omitempty"`
}

// CPU is the processor time spent during a window, in cores (1 = one core
// busy for the whole window).
type CPU struct {
	ToolCores   float64  `json:"tool_cpu_cores"`
	ServerCores *float64 `json:"server_cpu_cores,omitempty"`
	// ServerPerItemUS is server CPU microseconds per delivery (traffic) or per
	// connection (idle) or per drained message (drain).
	ServerPerItemUS *float64 `json:"server_cpu_us_per_item,omitempty"`
}

// cpuFigures turns a window's CPU use into cores and server µs per item.
func cpuFigures(u cpuUse, items int64) CPU {
	var c CPU
	if u.wall <= 0 {
		return c
	}
	c.ToolCores = float64(u.self) / float64(u.wall)
	if u.serverKnown {
		cores := float64(u.server) / float64(u.wall)
		c.ServerCores = &cores
		if items > 0 {
			per := float64(u.server) / float64(time.Microsecond) / float64(items)
			c.ServerPerItemUS = &per
		}
	}
	return c
}

// SweepResult is the outcome of -sweep.
type SweepResult struct {
	Criterion string          `json:"criterion"`
	BestRate  float64         `json:"best_msgs_per_s"` // highest passing target rate; 0 if none passed
	Steps     []TrafficResult `json:"steps"`
}

// IdleResult is the outcome of the idle scenario.
type IdleResult struct {
	Target        int      `json:"target"`
	RampSeconds   float64  `json:"ramp_seconds"`
	ConnsPerS     float64  `json:"conns_per_s"` // connected (with welcome) / ramp time
	HeldSeconds   float64  `json:"held_seconds"`
	RSSBeforeKiB  *int64   `json:"server_rss_before_kib,omitempty"`
	RSSAfterKiB   *int64   `json:"server_rss_after_kib,omitempty"`
	RSSPerConnKiB *float64 `json:"server_rss_per_conn_kib,omitempty"`
	CPU
}

// DrainResult is the outcome of the drain scenario.
type DrainResult struct {
	Messages     int            `json:"messages"`
	Receipts     int64          `json:"receipts"`
	Queued       int64          `json:"queued"` // receipts with "queued":true
	Errors       map[string]int `json:"errors,omitempty"`
	QueueSeconds float64        `json:"queue_seconds"` // sending all K and getting their receipts

	ReconnectMS float64 `json:"reconnect_ms"` // dial until welcome
	DrainMS     float64 `json:"drain_ms"`     // dial until the last queued message
	DrainRate   float64 `json:"drain_msgs_per_s"`
	Received    int64   `json:"received"`
	Offline     int64   `json:"offline_flagged"`
	OrderErrors int64   `json:"order_errors,omitempty"`
	Stale       int64   `json:"stale,omitempty"`
	Complete    bool    `json:"complete"`
	CPU
}
