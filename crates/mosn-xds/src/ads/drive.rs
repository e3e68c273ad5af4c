//! The loop both stream shapes (SotW, Delta) run once their stream is open: responses,
//! warming deadlines and the other stream's subscription changes.

use super::backoff::Backoff;
use super::session::Session;
use super::until;

/// What a stream shape does with a response and with a change of what is referred to.
pub(crate) trait Shape {
    /// The response message of the shape.
    type Response;
    /// Handles one response (applies it, ACKs or NACKs it).
    fn on_response(&mut self, session: &mut Session, response: Self::Response);
    /// Asks for names newly referred to (and drops the others) when `names_changed`,
    /// and for listeners once they are due.
    fn follow_subscriptions(&mut self, session: &Session, names_changed: bool);
}

/// Runs an open stream until it fails.
pub(crate) async fn drive<S: Shape>(
    session: &mut Session,
    backoff: &mut Backoff,
    stream: &mut S,
    responses: &mut tonic::Streaming<S::Response>,
) -> Result<(), String> {
    loop {
        // Read before select!: a guard in a branch expression would live through the
        // whole select.
        let deadline = session.next_deadline();
        let changed = session.changed.clone();
        tokio::select! {
            message = responses.message() => match message {
                Ok(Some(response)) => {
                    backoff.reset();
                    stream.on_response(session, response);
                }
                Ok(None) => return Err("the control plane closed the stream".into()),
                Err(status) => return Err(format!("stream failed: {status}")),
            },
            () = until(deadline) => {
                session.expire();
                stream.follow_subscriptions(session, true);
            }
            // The other stream changed what is referred to (new SDS names, say).
            () = changed.notified() => stream.follow_subscriptions(session, true),
        }
    }
}
