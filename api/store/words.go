package store

// The words the store, the broker, the API and the notifier share: event
// kinds, delivery and record states, delivery reasons and outcomes. Each is
// declared here once; openapi.yaml lists the same values as enums, and
// TestWordsAreDeclaredOnce keeps string literals of them out of other files.

// EventKind is what an event in the history says happened.
type EventKind string

// Event kinds.
const (
	EventAddressChanged EventKind = "address.changed"
	// EventAddressSetByHand is an admin's edit of a host's addresses
	// (PUT /hosts/{id}/addresses), told apart from a router's report.
	EventAddressSetByHand EventKind = "address.set_by_hand"
	// EventAddressPrivate warns that a host reported a private or CGNAT
	// IPv4 address, which is kept but not published.
	EventAddressPrivate EventKind = "address.private"

	EventDeliveryDelivered EventKind = "delivery.delivered"
	EventDeliveryRetry     EventKind = "delivery.retry"
	EventDeliveryFailed    EventKind = "delivery.failed"
	EventDeliveryBlocked   EventKind = "delivery.blocked"
	// EventDeliveryRecovered is never stored: webhooks derive it from a
	// delivery.delivered that follows a failure.
	EventDeliveryRecovered EventKind = "delivery.recovered"

	EventDriftDetected EventKind = "drift.detected"
	EventDriftError    EventKind = "drift.error"

	EventHostCreated       EventKind = "host.created"
	EventHostUpdated       EventKind = "host.updated"
	EventHostDeleted       EventKind = "host.deleted"
	EventHostResync        EventKind = "host.resync"
	EventHostSecretRotated EventKind = "host.secret_rotated"
	EventHostStale         EventKind = "host.stale"
	// EventHostBack ends a host.stale episode: the host reported again.
	EventHostBack EventKind = "host.back"

	EventRecordCreated EventKind = "record.created"
	EventRecordUpdated EventKind = "record.updated"
	EventRecordDeleted EventKind = "record.deleted"
	EventRecordResync  EventKind = "record.resync"

	EventServiceCreated EventKind = "service.created"
	EventServiceUpdated EventKind = "service.updated"
	EventServiceDeleted EventKind = "service.deleted"

	EventWebhookCreated EventKind = "webhook.created"
	EventWebhookUpdated EventKind = "webhook.updated"
	EventWebhookDeleted EventKind = "webhook.deleted"
	// EventWebhookTest is never stored: it is the kind of a test
	// notification.
	EventWebhookTest EventKind = "webhook.test"

	EventUserCreated         EventKind = "user.created"
	EventUserUpdated         EventKind = "user.updated"
	EventUserDeleted         EventKind = "user.deleted"
	EventUserPasswordChanged EventKind = "user.password_changed"

	EventTokenCreated EventKind = "token.created"
	EventTokenDeleted EventKind = "token.deleted"

	EventAuthLogin         EventKind = "auth.login"
	EventAuthLogout        EventKind = "auth.logout"
	EventAuthRefreshReused EventKind = "auth.refresh_reused"
	// EventAuthFailed are refused dyndns2 updates, EventAuthLoginFailed
	// refused logins and password confirmations (counted, see auth).
	EventAuthFailed      EventKind = "auth.failed"
	EventAuthLoginFailed EventKind = "auth.login_failed"

	EventImportCreated EventKind = "import.created"
)

// EventKinds are every kind, in the order openapi.yaml lists them.
func EventKinds() []EventKind {
	return []EventKind{EventAddressChanged, EventAddressSetByHand, EventAddressPrivate,
		EventDeliveryDelivered, EventDeliveryRetry, EventDeliveryFailed, EventDeliveryBlocked, EventDeliveryRecovered,
		EventDriftDetected, EventDriftError,
		EventHostCreated, EventHostUpdated, EventHostDeleted, EventHostResync, EventHostSecretRotated, EventHostStale, EventHostBack,
		EventRecordCreated, EventRecordUpdated, EventRecordDeleted, EventRecordResync,
		EventServiceCreated, EventServiceUpdated, EventServiceDeleted,
		EventWebhookCreated, EventWebhookUpdated, EventWebhookDeleted, EventWebhookTest,
		EventUserCreated, EventUserUpdated, EventUserDeleted, EventUserPasswordChanged,
		EventTokenCreated, EventTokenDeleted,
		EventAuthLogin, EventAuthLogout, EventAuthRefreshReused, EventAuthFailed, EventAuthLoginFailed,
		EventImportCreated}
}

// DeliveryState is where one job of the outbox (deliveries.state) stands.
type DeliveryState string

// Delivery states.
const (
	DeliveryPending    DeliveryState = "pending"
	DeliveryRunning    DeliveryState = "running"
	DeliveryDelivered  DeliveryState = "delivered"
	DeliveryFailed     DeliveryState = "failed"
	DeliveryBlocked    DeliveryState = "blocked"
	DeliverySuperseded DeliveryState = "superseded"
	DeliveryCancelled  DeliveryState = "cancelled"
)

// DeliveryStates are every delivery state.
func DeliveryStates() []DeliveryState {
	return []DeliveryState{DeliveryPending, DeliveryRunning, DeliveryDelivered, DeliveryFailed, DeliveryBlocked,
		DeliverySuperseded, DeliveryCancelled}
}

// SyncState is where a (record, family) stands with its upstream
// (record_states.state).
type SyncState string

// Sync states.
const (
	SyncIdle      SyncState = "idle"
	SyncPending   SyncState = "pending"
	SyncDelivered SyncState = "delivered"
	SyncRetrying  SyncState = "retrying"
	SyncFailed    SyncState = "failed"
	SyncBlocked   SyncState = "blocked"
)

// SyncStates are every sync state.
func SyncStates() []SyncState {
	return []SyncState{SyncIdle, SyncPending, SyncDelivered, SyncRetrying, SyncFailed, SyncBlocked}
}

// Reason is why a delivery was queued (deliveries.reason).
type Reason string

// Delivery reasons.
const (
	ReasonUpdate Reason = "update" // a router reported
	ReasonConfig Reason = "config" // a record or its service changed
	ReasonResync Reason = "resync" // an admin asked
	ReasonImport Reason = "import" // an import finished
	ReasonDrift  Reason = "drift"  // DNS published another address
)

// Reasons are every delivery reason.
func Reasons() []Reason {
	return []Reason{ReasonUpdate, ReasonConfig, ReasonResync, ReasonImport, ReasonDrift}
}

// Outcome is what an attempt's answer means for its job (Finish.Outcome).
type Outcome string

// Outcomes.
const (
	OutcomeDelivered Outcome = "delivered"
	OutcomeRetry     Outcome = "retry"
	OutcomeFailed    Outcome = "failed"
	OutcomeBlocked   Outcome = "blocked"
)
