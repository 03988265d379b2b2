//! Following a source's live feed in a test: a feed sends the whole state
//! or only the apps that changed, so a test keeps the state the way the
//! app side does.

use opsdeck::model::Snapshot;
use opsdeck::sources::Update;

/// The source's state after one event folded into `current`, or the
/// event's error (which leaves `current` as it was).
pub fn fold(current: &mut Snapshot, result: Result<Update, String>) -> Result<Snapshot, String> {
    result.map(|update| {
        update.apply_to(current);
        current.clone()
    })
}
