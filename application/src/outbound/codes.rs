//! Meta's error codes and what each means for the dispatcher. One table, used for the answer
//! to a send and for `failed` status webhooks alike. The classes follow issue 6; codes this
//! table adds beyond the list are marked, and `docs/outbound.md` explains each.

use super::RetryScope;

/// 131047, "Re-engagement message": outside the 24-hour customer service window.
pub(super) const OUTSIDE_WINDOW: i64 = 131_047;

/// What one of Meta's error codes asks of the dispatcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeClass {
    /// Transient: try again later, holding back `scope`.
    Retry { scope: RetryScope },
    /// This message can never succeed as it is.
    Permanent,
    /// Send the tenant's approved template instead.
    OutsideWindow,
    /// Nothing can be sent for this tenant until a person fixes its account or token.
    TenantBlocked,
    /// Not in the table. The caller decides from context: after a send, by the HTTP status
    /// (5xx and 429 retry, anything else is permanent); in a `failed` status, permanent.
    Unlisted,
}

/// The class of one of Meta's error `code`s (never the HTTP status).
pub fn classify_code(code: i64) -> CodeClass {
    use CodeClass::*;
    match code {
        // Throughput of the number (130429), the app's (4) and the account's (80007) call
        // limits, maintenance of the business account (131057), spam rate limit (131048,
        // added: it lifts by itself and concerns the whole number).
        130_429 | 4 | 80_007 | 131_057 | 131_048 => Retry {
            scope: RetryScope::Tenant,
        },
        // The pair rate limit: too many messages to this one customer in a short time.
        131_056 => Retry {
            scope: RetryScope::Recipient,
        },
        // Meta's own transient failures: unknown error, service unavailable, temporary
        // failure, "something went wrong", server temporarily unavailable.
        1 | 2 | 131_000 | 131_016 | 133_004 => Retry {
            scope: RetryScope::Message,
        },
        // Invalid parameter, required parameter missing, parameter value invalid, recipient
        // is the sender, undeliverable, unsupported message type, template errors (132xxx),
        // and (added) a business-scoped user id this message type cannot be sent to.
        100 | 131_008 | 131_009 | 131_021 | 131_026 | 131_051 | 131_062 => Permanent,
        132_000..=132_999 => Permanent,
        OUTSIDE_WINDOW => OutsideWindow,
        // Token invalid or expired (190), blocked for policy (368), account locked (131031),
        // payment problem (131042); added: the authorisation family (0 AuthException, 3
        // capability, 10 and 200–299 permission, 131005 access denied) and a business number
        // not registered with the Cloud API (133010).
        190 | 368 | 131_031 | 131_042 => TenantBlocked,
        0 | 3 | 10 | 200..=299 | 131_005 | 133_010 => TenantBlocked,
        _ => Unlisted,
    }
}
