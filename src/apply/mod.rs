//! Apply: runs a plan's actions against a provider, in dependency order, in parallel where the
//! order allows. A failed action skips only the actions that depend on it, unless it is best
//! effort (a logout before a deactivation).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;
use tokio::task::JoinSet;

use crate::journal::Journal;
use crate::model::LiveState;
use crate::plan::{ActionId, Kind, Op, Plan};
use crate::providers::{Account, ProviderError};

/// How one action ended.
#[derive(Debug)]
pub enum Outcome {
    /// Done; `adopted` when the user to be created existed already and was taken over.
    Done {
        adopted: bool,
    },
    Failed(ProviderError),
    /// Not run because an action it depends on did not succeed.
    Skipped(ActionId),
    /// Not started, because the apply was interrupted before its turn came.
    NotStarted,
}

/// What an apply did, action by action.
#[derive(Debug, Default)]
pub struct Report {
    pub outcomes: Vec<(ActionId, Outcome)>,
}

impl Report {
    pub fn done(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Done { .. }))
            .count()
    }

    pub fn failed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
            .count()
    }

    pub fn skipped(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Skipped(_)))
            .count()
    }

    pub fn not_started(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::NotStarted))
            .count()
    }
}

/// How many actions may run at once.
#[derive(Clone, Debug)]
pub enum Concurrency {
    /// Always this many.
    Fixed(usize),
    /// As many as the run's pace allows now.
    Paced(std::sync::Arc<crate::providers::pace::Pace>),
}

impl Concurrency {
    fn now(&self) -> usize {
        match self {
            Concurrency::Fixed(n) => *n,
            Concurrency::Paced(pace) => pace.window(),
        }
        .max(1)
    }
}

impl From<usize> for Concurrency {
    fn from(n: usize) -> Self {
        Concurrency::Fixed(n)
    }
}

/// Runs every action of `plan`, as many at a time as `concurrency` allows. `on_outcome` hears
/// of each action as it ends.
pub async fn run<A: Account + Clone>(
    account: A,
    plan: &Plan,
    live: &LiveState,
    concurrency: impl Into<Concurrency>,
    journal: Option<&Journal>,
    on_outcome: impl FnMut(ActionId, &Outcome),
) -> Report {
    let never = AtomicBool::new(false);
    run_until(
        account,
        plan,
        live,
        concurrency,
        journal,
        &never,
        on_outcome,
    )
    .await
}

/// [`run`], until `stop` is set: then no new action starts, the running ones finish and are
/// recorded, and every action left is reported as not started.
pub async fn run_until<A: Account + Clone>(
    account: A,
    plan: &Plan,
    live: &LiveState,
    concurrency: impl Into<Concurrency>,
    journal: Option<&Journal>,
    stop: &AtomicBool,
    mut on_outcome: impl FnMut(ActionId, &Outcome),
) -> Report {
    let concurrency: Concurrency = concurrency.into();
    let actions = &plan.actions;
    let mut ids: HashMap<String, String> = live
        .users
        .iter()
        .map(|u| (u.key.clone(), u.id.clone()))
        .collect();
    let mut waiting: Vec<usize> = actions.iter().map(|a| a.depends_on.len()).collect();
    let mut dependents: Vec<Vec<ActionId>> = vec![Vec::new(); actions.len()];
    for action in actions {
        for &dependency in &action.depends_on {
            dependents[dependency].push(action.id);
        }
    }
    // Actions that wait for every create hold one more count, released when the last create
    // is done; a create that does not succeed skips them.
    let gated: Vec<ActionId> = actions
        .iter()
        .filter(|a| a.after_creates)
        .map(|a| a.id)
        .collect();
    let mut creates_left = actions.iter().filter(|a| a.op == Op::Create).count();
    if creates_left > 0 {
        for &id in &gated {
            waiting[id] += 1;
        }
    }
    let mut ready: std::collections::VecDeque<ActionId> = actions
        .iter()
        .filter(|a| waiting[a.id] == 0)
        .map(|a| a.id)
        .collect();
    let mut running = JoinSet::new();
    let mut tasks: HashMap<tokio::task::Id, ActionId> = HashMap::new();
    let mut ledger = Ledger {
        plan,
        journal,
        on_outcome: &mut on_outcome,
        report: Report::default(),
        finished: vec![false; actions.len()],
    };

    loop {
        let allowed = concurrency.now();
        while running.len() < allowed
            && !stop.load(Ordering::SeqCst)
            && let Some(id) = ready.pop_front()
        {
            let prepared = prepare(&actions[id], &ids);
            let account = account.clone();
            let task = running.spawn(async move {
                let result = match prepared {
                    Ok((action, subject_id)) => {
                        account.execute(&action, subject_id.as_deref()).await
                    }
                    Err(err) => Err(err),
                };
                (id, result)
            });
            tasks.insert(task.id(), id);
        }
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        let (id, result) = match joined {
            Ok((_, pair)) => pair,
            // A task that panicked still fails its action, so its dependents are skipped.
            Err(err) => match tasks.get(&err.id()) {
                Some(&id) => (
                    id,
                    Err(ProviderError::Protocol(format!(
                        "the action ended abnormally: {err}"
                    ))),
                ),
                None => continue,
            },
        };
        match result {
            Ok(effect) => {
                if let (Some(new_id), Some(key)) = (effect.id, subject_key(&actions[id])) {
                    ids.insert(key, new_id);
                }
                if actions[id].op == Op::Create {
                    creates_left -= 1;
                    if creates_left == 0 {
                        for &next in &gated {
                            waiting[next] -= 1;
                            if waiting[next] == 0 {
                                ready.push_back(next);
                            }
                        }
                    }
                }
                release(id, &dependents, &mut waiting, &mut ready);
                ledger.finish(
                    id,
                    Outcome::Done {
                        adopted: effect.adopted,
                    },
                );
            }
            Err(err) if actions[id].op.best_effort() => {
                // Done for the sake of what follows, never a condition of it.
                release(id, &dependents, &mut waiting, &mut ready);
                ledger.finish(id, Outcome::Failed(err));
            }
            Err(err) => {
                ledger.finish(id, Outcome::Failed(err));
                // Everything that (transitively) waits on this action is skipped, and what
                // waits for every create when a create is among them.
                let mut stack = dependents[id].clone();
                if actions[id].op == Op::Create {
                    stack.extend(&gated);
                }
                while let Some(next) = stack.pop() {
                    if !ledger.finished[next] {
                        ledger.finish(next, Outcome::Skipped(id));
                        stack.extend(&dependents[next]);
                        if actions[next].op == Op::Create {
                            stack.extend(&gated);
                        }
                    }
                }
            }
        }
    }
    // Whatever never ran (an interruption, or an order that never made it ready) is said so.
    for id in 0..actions.len() {
        if !ledger.finished[id] {
            ledger.finish(id, Outcome::NotStarted);
        }
    }
    ledger.report
}

/// Where the executor keeps the id of an action's subject: a user under its key, a group under
/// `group:` and its name (so no group name can pass for a user). Roles are found by name in the
/// provider's client.
fn subject_key(action: &crate::plan::Action) -> Option<String> {
    match action.op.kind() {
        Kind::User => Some(action.user.clone()),
        Kind::Group => Some(format!("group:{}", action.user)),
        Kind::Role => None,
    }
}

/// The action as the provider carries it out, and the id of its subject when known: the members
/// of a membership change named by id instead of key, the users this run invited included.
fn prepare(
    action: &crate::plan::Action,
    ids: &HashMap<String, String>,
) -> Result<(crate::plan::Action, Option<String>), ProviderError> {
    let subject_id = action
        .live_id
        .clone()
        .or_else(|| ids.get(&subject_key(action)?).cloned());
    let mut action = action.clone();
    if matches!(action.op, Op::AddMembers | Op::RemoveMembers) {
        for change in &mut action.changes {
            for value in [&mut change.before, &mut change.after]
                .into_iter()
                .flatten()
            {
                // A member the user list does not show is named by its id already.
                let known = ids
                    .get(value.as_str())
                    .cloned()
                    .or_else(|| uuid::Uuid::parse_str(value).is_ok().then(|| value.clone()));
                *value = known.ok_or_else(|| {
                    ProviderError::Protocol(format!(
                        "the id of `{}` is not known",
                        crate::escape::visible(value)
                    ))
                })?;
            }
        }
    }
    Ok((action, subject_id))
}

/// Counts action `id` as ended for the actions that wait for it; those it was the last for
/// become ready.
fn release(
    id: ActionId,
    dependents: &[Vec<ActionId>],
    waiting: &mut [usize],
    ready: &mut std::collections::VecDeque<ActionId>,
) {
    for &next in &dependents[id] {
        waiting[next] -= 1;
        if waiting[next] == 0 {
            ready.push_back(next);
        }
    }
}

/// Records how actions ended: in the report, the journal, and for the caller.
struct Ledger<'a, F> {
    plan: &'a Plan,
    journal: Option<&'a Journal>,
    on_outcome: &'a mut F,
    report: Report,
    finished: Vec<bool>,
}

impl<F: FnMut(ActionId, &Outcome)> Ledger<'_, F> {
    fn finish(&mut self, id: ActionId, outcome: Outcome) {
        self.finished[id] = true;
        let action = &self.plan.actions[id];
        if let Some(journal) = self.journal {
            let (status, error) = match &outcome {
                Outcome::Done { adopted: false } => ("done", None),
                Outcome::Done { adopted: true } => ("adopted", None),
                Outcome::Failed(err) => ("failed", Some(err.summary())),
                Outcome::Skipped(because) => (
                    "skipped",
                    Some(json!({ "kind": "skipped", "because": because })),
                ),
                Outcome::NotStarted => ("not started", None),
            };
            let subject = action.op.kind().noun();
            journal.write(json!({
                "event": "action",
                "action": id,
                "op": action.op,
                subject: action.user,
                "status": status,
                "error": error,
            }));
        }
        (self.on_outcome)(id, &outcome);
        self.report.outcomes.push((id, outcome));
    }
}
