//! Whose turn it is on a connection: a server that closes connections whose client went
//! quiet must not close one whose client is waiting, its request sent, for the server's work
//! (a place in the verification line, the models running).

use idv_core::limits::Admitted;
use idv_core::services::Running;
use idv_core::{Error, Services};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A connection's count of requests the server holds up with the client's part done. The
/// server that owns the connection puts it in each request's extensions; while it is held,
/// the client's silence is no reason to close the connection.
#[derive(Clone, Default, Debug)]
pub struct ServerTurn(Arc<AtomicUsize>);

impl ServerTurn {
    /// Whether the server holds up a request on this connection now.
    pub fn is_held(&self) -> bool {
        self.0.load(Ordering::Acquire) > 0
    }
}

tokio::task_local! {
    /// The connection of the request being handled, where the server tracks one (set by the
    /// request middleware).
    pub static TURN: Option<ServerTurn>;
}

/// Marks the current request's connection as waiting for the server until dropped.
pub struct Held(Option<ServerTurn>);

impl Held {
    /// Holds the current request's connection (no-op outside a tracked connection).
    pub fn current() -> Held {
        let turn = TURN.try_with(|t| t.clone()).ok().flatten();
        if let Some(t) = &turn {
            t.0.fetch_add(1, Ordering::AcqRel);
        }
        Held(turn)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            t.0.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Waits for a running slot ([`Services::running`]) with the connection marked as the
/// server's turn: the client has sent its request, so from here the wait is the server's.
pub async fn running(s: &Services, place: Option<Admitted>) -> Result<(Held, Running), Error> {
    let held = Held::current();
    Ok((held, s.running(place).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn held_while_the_guard_lives() {
        let turn = ServerTurn::default();
        TURN.scope(Some(turn.clone()), async {
            let a = Held::current();
            let b = Held::current();
            assert!(turn.is_held());
            drop(a);
            assert!(turn.is_held());
            drop(b);
            assert!(!turn.is_held());
        })
        .await;
        // Outside a tracked connection, holding does nothing.
        drop(Held::current());
        assert!(!turn.is_held());
    }
}
