// Package delivery is the dispatcher: it claims due jobs from the deliveries
// outbox that the broker fills, sends each through the provider registry
// (api/provider, known here only through the Providers interface) and
// records the outcome with the job's next state and its history line in one
// transaction.
//
// Claims carry a lease the dispatcher renews while a request runs, so that
// several dispatchers (one per replica) share a database and a crashed one's
// jobs are taken over when its lease expires: nothing acknowledged is lost.
// Claims are fair across services, never hold two jobs of one upstream name
// at once, and bound the requests in flight per process and per service.
// Failed attempts wait by api/retry's schedule; a provider's abuse answer
// pauses its service for BlockFor.
package delivery
