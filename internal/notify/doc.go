// Package notify delivers alert notifications through channels: email
// (SMTP), Telegram, a signed JSON webhook and Slack/Mattermost incoming
// webhooks, one file per provider behind the small Channel interface.
//
// The alert pipeline (internal/alert) decides who is told what, keeps every
// notification in an outbox and calls Channel.Send once per attempt. A
// channel therefore makes exactly one attempt, bounded by the context and
// its own timeout, and says whether the failure is worth retrying: errors
// wrapped in *PermanentError (HTTP 4xx other than 408/429, SMTP 5xx, failed
// authentication, an unusable recipient, a configuration that cannot work)
// are final; everything else is temporary, and RetryAfter reports a delay
// the provider asked for.
//
// Configurations are JSON. New decodes one strictly and validates it,
// reporting problems as *model.ValidationError. Redact hides secrets behind
// Mask for the UI and API, and Merge keeps a stored secret when an update
// sends the mask back, so editing a channel never requires re-entering its
// password.
//
// Render produces the subject and plain-text body every channel sends, in
// Vietnamese (default) or English, with times in Vietnam's time zone.
//
// # Webhook payload and signature
//
// The webhook channel POSTs a JSON object (WebhookPayload, version 1):
//
//	{"version":1, "alert_id":42, "severity":"critical",
//	 "title":"Website bị thay đổi giao diện", "summary":"…",
//	 "asset":"Cổng TTĐT Sở Y tế", "address":"https://syt.example.gov.vn",
//	 "agency":"Sở Y tế", "kind":"webmon.defaced",
//	 "at":"2025-01-29T02:00:00+07:00", "count":1,
//	 "link":"https://canhgac.example.gov.vn/alerts/42",
//	 "ack_link":"https://canhgac.example.gov.vn/ack/…", "step":0,
//	 "group":[], "test":false, "lang":"vi", "text":"[Nghiêm trọng] …"}
//
// with these headers:
//
//	Content-Type: application/json
//	X-Canhgac-Delivery: <id, the same on every retry of one notification>
//	X-Canhgac-Timestamp: <Unix seconds when this attempt was made>
//	X-Canhgac-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// The signature covers the timestamp so an old request cannot be replayed
// with a fresh timestamp. A receiver should recompute the HMAC over the raw
// body bytes exactly as received, compare with hmac.Equal, reject
// timestamps more than a few minutes from its clock, and use the delivery
// id to ignore a retry it has already processed. Any 2xx answer counts as
// delivered. Without a configured secret the signature header is omitted.
//
// # Why there is no Zalo channel
//
// Zalo is the messenger most Vietnamese officials read first, but sending
// to it automatically needs a Zalo Official Account verified for an
// organisation and, for notifications to phone numbers (ZNS), message
// templates approved by Zalo in advance, with access tokens that expire and
// must be refreshed through Zalo's OAuth flow. None of that can be set up by
// a province's IT staff alone from the channel page, and none of it can be
// tested offline, so canhgac does not pretend to support it: New("zalo", …)
// returns an error saying so. A province that has an Official Account can
// point the webhook channel at its own small bridge.
package notify
