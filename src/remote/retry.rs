//! Retries: transient failures (5xx, timeouts, resets, bodies cut short)
//! are tried again with exponential backoff; anything else fails at once.

use std::future::Future;
use std::time::Duration;

use crate::remote::RemoteError;
use crate::ui;

/// Attempts per object for transient failures (first try included).
pub const ATTEMPTS: u32 = 5;
/// First backoff; doubled after each failure, capped at [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Runs `op` until it succeeds, fails for good, or runs out of attempts.
pub async fn with_retries<T, F, Fut>(op: F) -> Result<T, RemoteError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RemoteError>>,
{
    retry_with(BASE_BACKOFF, op).await
}

/// [`with_retries`] with the first backoff given (tests use a short one).
async fn retry_with<T, F, Fut>(base: Duration, mut op: F) -> Result<T, RemoteError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RemoteError>>,
{
    let mut delay = base;
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                ui::verbose(&format!(
                    "git-dvc: {e}; retrying in {} ms",
                    delay.as_millis()
                ));
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_BACKOFF);
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn transient() -> RemoteError {
        RemoteError::Transient {
            remote: "r".into(),
            message: "503".into(),
        }
    }

    /// Runs `retry_with` over a script of outcomes; returns the result and
    /// how many attempts were made.
    fn run(script: Vec<Result<u32, RemoteError>>) -> (Result<u32, RemoteError>, u32) {
        let calls = Cell::new(0u32);
        let script = std::cell::RefCell::new(script.into_iter());
        let r = crate::runtime::block_on(retry_with(Duration::from_millis(1), || {
            calls.set(calls.get() + 1);
            let next = script.borrow_mut().next().expect("script long enough");
            async move { next }
        }));
        (r, calls.get())
    }

    #[test]
    fn success_is_not_retried() {
        let (r, calls) = run(vec![Ok(7)]);
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls, 1);
    }

    #[test]
    fn transient_failures_are_retried_until_success() {
        let (r, calls) = run(vec![Err(transient()), Err(transient()), Ok(3)]);
        assert_eq!(r.unwrap(), 3);
        assert_eq!(calls, 3);
    }

    #[test]
    fn transient_failures_give_up_after_the_last_attempt() {
        let script = (0..ATTEMPTS).map(|_| Err(transient())).collect();
        let (r, calls) = run(script);
        assert!(r.unwrap_err().is_transient());
        assert_eq!(calls, ATTEMPTS);
    }

    #[test]
    fn other_failures_fail_at_once() {
        let denied = RemoteError::Denied {
            remote: "r".into(),
            message: "401".into(),
        };
        let (r, calls) = run(vec![Err(denied), Ok(1)]);
        assert!(matches!(r, Err(RemoteError::Denied { .. })));
        assert_eq!(calls, 1);
    }
}
