//! How hard to press a service: how many requests may be in flight, and when the next may start.
//!
//! Concurrency adapts as TCP's congestion window does (additive increase, multiplicative
//! decrease): it grows while answers come back fast and successful, and halves on a 429, a 5xx,
//! a request that got no answer, or an answer much slower than the fastest seen (reads and writes
//! timed apart). Where a service announces its budget (`X-RateLimit-Remaining`, for a minute as
//! Publica.la documents or the window `RateLimit-Policy` names), requests are started only while
//! the budget has room, so none is refused. A refusal's `Retry-After` (or `X-RateLimit-Reset`)
//! holds every request back, not only the one that got it, for at most [`MAX_HOLD`].
//! `--parallelism` fixes the concurrency instead.
//!
//! [`Governor`] is the pure decision, driven with explicit times so it can be tested without a
//! clock; [`Pace`] shares one between the requests of a run and does the waiting.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Concurrency a run starts with: as many as the pages of a list are read with.
pub const START: usize = super::PAGE_CONCURRENCY;
/// The most requests in flight an adaptive run allows.
pub const CEILING: usize = 64;
/// The period an announced budget covers unless the service says otherwise
/// (`RateLimit-Policy: 100;w=60`): Publica.la documents its `X-RateLimit-Limit` as per minute.
pub const BUDGET_PERIOD: Duration = Duration::from_secs(60);

/// What one answer says about the service's load.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Signals {
    /// The HTTP status; `None` when no answer came.
    pub status: Option<u16>,
    /// How long the service asked to wait (`Retry-After`, or until `X-RateLimit-Reset`).
    pub retry_after: Option<Duration>,
    /// `X-RateLimit-Remaining`: requests left in the current period.
    pub remaining: Option<u32>,
    /// The period the budget covers, where the service names it (`RateLimit-Policy`'s `w`).
    pub period: Option<Duration>,
    /// Whether the request wrote: reads and writes are timed apart, as they take different
    /// times on a healthy service.
    pub write: bool,
}

/// The longest a `Retry-After` holds every request back; one request's own wait is bounded by
/// the retry policy.
pub const MAX_HOLD: Duration = Duration::from_secs(60);

/// The announced budget as last seen: the lowest count of the period, the requests that may not
/// be in it, and those started since.
#[derive(Clone, Copy, Debug)]
struct Budget {
    /// The fewest requests left any answer of the period reported.
    remaining: u32,
    /// Requests in flight when that answer came, which it may not have counted, less those since
    /// known to have been counted (their answers reported more left).
    reserved: u32,
    /// Requests started after that answer, which it cannot have counted.
    started_since: u32,
    /// Set when a period is over by estimate: one request is sent to learn the new period's
    /// budget, which the first answer to a request sent since then gives.
    probe: bool,
    /// A time by which the current period had begun (the first answer it counted arrived
    /// then): it ends no later than one [`BUDGET_PERIOD`] after it.
    period_began_by: Instant,
}

/// The pure decision: how many in flight, and whether one may start now.
#[derive(Debug)]
pub struct Governor {
    fixed: Option<usize>,
    window: f64,
    /// Grow by one per success until the first back-off, then by one per window's worth.
    slow_start: bool,
    /// The fastest answer seen, to reads and to writes.
    fastest: [Option<Duration>; 2],
    last_cut: Option<Instant>,
    not_before: Option<Instant>,
    budget: Option<Budget>,
    /// The period a budget covers.
    period: Duration,
    in_flight: usize,
    /// Starts and refusals, for the progress display and reports.
    started: u64,
    refused: u64,
    first_start: Option<Instant>,
}

/// Why a request may not start yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Until this time (a `Retry-After`, or the end of a spent budget's period).
    Until(Instant),
    /// Until a request in flight ends (the concurrency window is full).
    ForAnswer,
}

impl Governor {
    /// `fixed`: the `--parallelism` a user set, which then never changes.
    pub fn new(fixed: Option<usize>) -> Self {
        Governor {
            fixed: fixed.map(|n| n.max(1)),
            window: START as f64,
            slow_start: true,
            fastest: [None; 2],
            last_cut: None,
            not_before: None,
            budget: None,
            period: BUDGET_PERIOD,
            in_flight: 0,
            started: 0,
            refused: 0,
            first_start: None,
        }
    }

    /// How many requests may be in flight now.
    pub fn window(&self) -> usize {
        self.fixed.unwrap_or(self.window.floor() as usize).max(1)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Requests answered 429 so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Requests started per second since the first.
    pub fn rate(&self, now: Instant) -> f64 {
        match self.first_start {
            Some(first) if now > first => self.started as f64 / (now - first).as_secs_f64(),
            _ => 0.0,
        }
    }

    /// Starts a request at `now` if one may start, or says what it waits for.
    pub fn try_start(&mut self, now: Instant) -> Result<(), Wait> {
        if let Some(at) = self.not_before.filter(|&at| at > now) {
            return Err(Wait::Until(at));
        }
        if self.in_flight >= self.window() {
            return Err(Wait::ForAnswer);
        }
        if let Some(budget) = &mut self.budget {
            if budget.started_since + budget.reserved >= budget.remaining {
                // Spent: the period that counted these requests is over by this time.
                let end = budget.period_began_by + self.period;
                if end > now {
                    return Err(Wait::Until(end));
                }
                // A new period, which began by now: one request learns its budget.
                *budget = Budget {
                    remaining: 1,
                    reserved: 0,
                    started_since: 1,
                    period_began_by: now,
                    probe: true,
                };
            } else {
                budget.started_since += 1;
            }
        }
        self.in_flight += 1;
        self.started += 1;
        self.first_start.get_or_insert(now);
        Ok(())
    }

    /// Records the answer (or its absence) to a request sent at `sent` and ended at `now`.
    pub fn answered(&mut self, sent: Instant, now: Instant, signals: Signals) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let latency = now.saturating_duration_since(sent);
        // Only a refusal holds everyone back, and never for long.
        if let (Some(wait), Some(429 | 500..)) = (signals.retry_after, signals.status) {
            let until = now + wait.min(MAX_HOLD);
            self.not_before = Some(self.not_before.map_or(until, |t| t.max(until)));
        }
        if let Some(remaining) = signals.remaining {
            let in_flight = u32::try_from(self.in_flight).unwrap_or(u32::MAX);
            let fresh = Budget {
                remaining,
                reserved: in_flight,
                started_since: 0,
                // The period that counted this request had begun by the time its answer came.
                period_began_by: now,
                probe: false,
            };
            // A period is taken to last until its estimated end: an answer reporting more left
            // may be an old one, delayed, so it never raises the budget.
            match &mut self.budget {
                None => self.budget = Some(fresh),
                // The new period's first word, from a request sent since it began; an answer to
                // an older request tells of the old period.
                Some(b) if b.probe => {
                    if sent >= b.period_began_by {
                        *b = fresh;
                    }
                }
                // Counted after the lowest report so far: the new lowest.
                Some(b) if remaining < b.remaining => {
                    *b = Budget {
                        period_began_by: b.period_began_by,
                        ..fresh
                    }
                }
                // Counted before it: one of the requests in flight at the lowest report, so one
                // fewer it may not have counted.
                Some(b) => b.reserved = b.reserved.saturating_sub(1),
            }
        }
        if let Some(period) = signals.period {
            self.period = period.clamp(Duration::from_secs(1), Duration::from_secs(3600));
        }
        let overloaded = match signals.status {
            None => true,
            Some(429) => {
                self.refused += 1;
                true
            }
            Some(status) => status >= 500,
        };
        let best = &mut self.fastest[usize::from(signals.write)];
        let fastest = *best.get_or_insert(latency);
        let slow = latency > (fastest * 2).max(fastest + Duration::from_millis(200));
        if overloaded || slow {
            self.cut(now, fastest);
        } else {
            *best = Some(fastest.min(latency));
            self.grow();
        }
    }

    /// Multiplicative decrease, at most once per round trip so one burst counts once.
    fn cut(&mut self, now: Instant, fastest: Duration) {
        let round_trip = fastest.max(Duration::from_millis(50));
        if self.last_cut.is_some_and(|at| now < at + round_trip) {
            return;
        }
        self.last_cut = Some(now);
        self.slow_start = false;
        self.window = (self.window / 2.0).max(1.0);
    }

    /// Additive increase: one per success while starting, then one per window's worth.
    fn grow(&mut self) {
        let step = if self.slow_start {
            1.0
        } else {
            1.0 / self.window
        };
        self.window = (self.window + step).min(CEILING as f64);
    }
}

/// A [`Governor`] shared by the requests of one run.
#[derive(Debug)]
pub struct Pace {
    governor: Mutex<Governor>,
    changed: tokio::sync::Notify,
}

impl Pace {
    pub fn new(fixed: Option<usize>) -> Self {
        Pace {
            governor: Mutex::new(Governor::new(fixed)),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// Fixes the concurrency (`--parallelism N`), or lets it adapt (`None`).
    pub fn set_fixed(&self, fixed: Option<usize>) {
        if let Ok(mut g) = self.governor.lock() {
            g.fixed = fixed.map(|n| n.max(1));
        }
        self.changed.notify_waiters();
    }

    fn with<T>(&self, f: impl FnOnce(&mut Governor) -> T) -> Option<T> {
        self.governor.lock().ok().map(|mut g| f(&mut g))
    }

    /// Waits until a request may start, and counts it as started. The ticket says how it
    /// ended; a ticket dropped unanswered (its request cancelled) only frees its place.
    pub async fn turn(&self) -> Ticket<'_> {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.with(|g| g.try_start(Instant::now())) {
                None | Some(Ok(())) => {
                    return Ticket {
                        pace: self,
                        sent: Instant::now(),
                        open: true,
                    };
                }
                Some(Err(Wait::Until(at))) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at.into()) => {}
                        () = &mut notified => {}
                    }
                }
                Some(Err(Wait::ForAnswer)) => notified.await,
            }
        }
    }

    fn answered(&self, sent: Instant, signals: Signals) {
        self.with(|g| g.answered(sent, Instant::now(), signals));
        self.changed.notify_waiters();
    }

    /// How many actions apply may run at once now.
    pub fn window(&self) -> usize {
        self.with(|g| g.window()).unwrap_or(START)
    }

    /// `(requests per second so far, requests in flight, requests refused with 429)`.
    pub fn status(&self) -> (f64, usize, u64) {
        self.with(|g| (g.rate(Instant::now()), g.in_flight(), g.refused()))
            .unwrap_or_default()
    }
}

/// A request's place in the run, from its start to its answer.
#[derive(Debug)]
pub struct Ticket<'a> {
    pace: &'a Pace,
    sent: Instant,
    open: bool,
}

impl Ticket<'_> {
    /// Records how the request ended.
    pub fn answered(mut self, signals: Signals) {
        self.open = false;
        self.pace.answered(self.sent, signals);
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.open {
            self.pace
                .with(|g| g.in_flight = g.in_flight.saturating_sub(1));
            self.pace.changed.notify_waiters();
        }
    }
}

impl Default for Pace {
    fn default() -> Self {
        Pace::new(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Signals {
        Signals {
            status: Some(200),
            ..Signals::default()
        }
    }

    #[test]
    fn grows_while_answers_are_fast_and_backs_off_on_429() {
        let t0 = Instant::now();
        let mut g = Governor::new(None);
        assert_eq!(g.window(), START);
        for i in 0..20 {
            let now = t0 + Duration::from_millis(20 * i);
            g.try_start(now).unwrap();
            g.answered(now, now + Duration::from_millis(20), ok());
        }
        assert_eq!(g.window(), START + 20, "slow start: one more per success");
        let now = t0 + Duration::from_secs(1);
        g.try_start(now).unwrap();
        g.answered(
            now,
            now + Duration::from_millis(20),
            Signals {
                status: Some(429),
                retry_after: Some(Duration::from_secs(3)),
                ..Signals::default()
            },
        );
        assert_eq!(g.window(), (START + 20) / 2, "halved");
        assert_eq!(g.refused(), 1);
        let later = now + Duration::from_secs(1);
        assert_eq!(
            g.try_start(later),
            Err(Wait::Until(
                now + Duration::from_millis(20) + Duration::from_secs(3)
            )),
            "everyone waits out the Retry-After"
        );
        // After the cut, growth is one per window's worth of successes.
        let after = now + Duration::from_secs(4);
        let before = g.window;
        g.try_start(after).unwrap();
        g.answered(after, after + Duration::from_millis(20), ok());
        assert!((g.window - before - 1.0 / before).abs() < 1e-9);
    }

    #[test]
    fn a_slow_answer_or_a_5xx_is_a_signal_too_but_one_burst_cuts_once() {
        let t0 = Instant::now();
        let mut g = Governor::new(None);
        g.try_start(t0).unwrap();
        g.answered(t0, t0 + Duration::from_millis(50), ok());
        let window = g.window;
        for i in 0..3 {
            let sent = t0 + Duration::from_millis(100 + i);
            g.try_start(sent).unwrap();
            g.answered(
                sent,
                sent + Duration::from_millis(10),
                Signals {
                    status: Some(503),
                    ..Signals::default()
                },
            );
        }
        assert_eq!(
            g.window,
            (window / 2.0).max(1.0),
            "three 503s in one round trip"
        );
        let sent = t0 + Duration::from_secs(2);
        g.try_start(sent).unwrap();
        g.answered(sent, sent + Duration::from_millis(900), ok());
        assert_eq!(
            g.window,
            (window / 4.0).max(1.0),
            "an answer 18 times slower"
        );
    }

    #[test]
    fn parallelism_fixes_the_window() {
        let t0 = Instant::now();
        let mut g = Governor::new(Some(3));
        for i in 0..10 {
            let now = t0 + Duration::from_secs(i);
            g.try_start(now).unwrap();
            let status = if i % 2 == 0 { 429 } else { 200 };
            g.answered(
                now,
                now + Duration::from_millis(10),
                Signals {
                    status: Some(status),
                    ..Signals::default()
                },
            );
            assert_eq!(g.window(), 3);
        }
        let now = t0 + Duration::from_secs(20);
        for _ in 0..3 {
            g.try_start(now).unwrap();
        }
        assert_eq!(g.try_start(now), Err(Wait::ForAnswer));
    }

    /// A service with a fixed budget of `limit` requests per minute, counted per period from
    /// the first request, that sends `X-RateLimit-*` on every answer. Requests start as soon
    /// as the governor allows and take `latency`. Returns the requests refused and the seconds
    /// `total` requests took.
    fn against_a_budget(limit: u32, used: u32, total: u32, latency: Duration) -> (u64, f64) {
        let t0 = Instant::now();
        let mut g = Governor::new(None);
        let mut now = t0;
        // The service's period began before the run, with `used` requests already counted.
        let mut period_start = t0;
        let mut count = used;
        let mut in_flight: Vec<Instant> = Vec::new();
        let mut done = 0;
        let mut refused = 0;
        while done < total {
            // Start what may start; answer the earliest request when nothing more may.
            match g.try_start(now) {
                Ok(()) if done + (in_flight.len() as u32) < total => in_flight.push(now),
                Ok(()) => {
                    g.in_flight -= 1;
                    g.started -= 1;
                    if let Some(b) = &mut g.budget {
                        b.started_since -= 1;
                    }
                    now = in_flight[0] + latency;
                }
                Err(Wait::Until(at)) if in_flight.is_empty() => now = at,
                Err(_) => now = now.max(in_flight[0] + latency),
            }
            while let Some(&sent) = in_flight.first() {
                if sent + latency > now {
                    break;
                }
                in_flight.remove(0);
                let arrived = sent + latency;
                if arrived >= period_start + BUDGET_PERIOD {
                    period_start = arrived;
                    count = 0;
                }
                let signals = if count < limit {
                    count += 1;
                    done += 1;
                    Signals {
                        status: Some(200),
                        remaining: Some(limit - count),
                        ..Signals::default()
                    }
                } else {
                    refused += 1;
                    Signals {
                        status: Some(429),
                        remaining: Some(0),
                        retry_after: Some(period_start + BUDGET_PERIOD - arrived),
                        ..Signals::default()
                    }
                };
                g.answered(sent, arrived, signals);
            }
        }
        assert_eq!(refused, g.refused());
        (refused, (now - t0).as_secs_f64())
    }

    #[test]
    fn a_spent_budget_waits_for_the_period_the_service_names() {
        let t0 = Instant::now();
        let mut g = Governor::new(None);
        let budget = |remaining, period: Option<u64>| Signals {
            status: Some(200),
            remaining: Some(remaining),
            period: period.map(Duration::from_secs),
            ..Signals::default()
        };
        g.try_start(t0).unwrap();
        let answered = t0 + Duration::from_millis(10);
        g.answered(t0, answered, budget(1, None));
        g.try_start(answered).unwrap();
        g.answered(answered, answered, budget(0, None));
        assert_eq!(
            g.try_start(answered),
            Err(Wait::Until(answered + BUDGET_PERIOD)),
            "a minute, as documented"
        );
        // A service that names a one-second window is waited for one second.
        g.answered(answered, answered, budget(0, Some(1)));
        g.in_flight += 1;
        assert_eq!(
            g.try_start(answered),
            Err(Wait::Until(answered + Duration::from_secs(1)))
        );
        assert_eq!(g.try_start(answered + Duration::from_secs(1)), Ok(()));
    }

    #[tokio::test]
    async fn a_cancelled_request_frees_its_place() {
        let pace = Pace::new(Some(1));
        let first = pace.turn().await;
        let waiting = tokio::time::timeout(Duration::from_millis(50), pace.turn()).await;
        assert!(waiting.is_err(), "the one place is taken");
        drop(first);
        let second = tokio::time::timeout(Duration::from_millis(50), pace.turn()).await;
        assert!(second.is_ok(), "a dropped ticket frees its place");
        assert_eq!(pace.status().1, 1);
    }

    #[test]
    fn answers_out_of_order_never_raise_the_budget() {
        let t0 = Instant::now();
        let mut g = Governor::new(None);
        let remaining = |n| Signals {
            status: Some(200),
            remaining: Some(n),
            ..Signals::default()
        };
        for _ in 0..4 {
            g.try_start(t0).unwrap();
        }
        // The service counted them 1, 2, 3, 4 (remaining 9, 8, 7, 6); the answers come 4, 3, 1.
        g.answered(t0, t0, remaining(6));
        g.answered(t0, t0, remaining(7));
        g.answered(t0, t0, remaining(9));
        let b = g.budget.unwrap();
        assert_eq!(
            b.remaining - b.reserved - b.started_since,
            5,
            "6 left, one in flight"
        );
    }

    #[test]
    fn a_late_answer_never_raises_the_budget() {
        let t0 = Instant::now();
        let mut g = Governor::new(Some(16));
        let remaining = |n| Signals {
            status: Some(200),
            remaining: Some(n),
            ..Signals::default()
        };
        for _ in 0..10 {
            g.try_start(t0).unwrap();
        }
        // One request's answer is slow: counted early (11 left), answered after the others.
        for left in [10, 9, 8, 7, 6, 5, 4, 3, 2] {
            g.answered(t0, t0, remaining(left));
        }
        let estimate = |g: &Governor| {
            let b = g.budget.unwrap();
            b.remaining.saturating_sub(b.reserved + b.started_since)
        };
        let before = estimate(&g);
        g.answered(t0, t0 + Duration::from_secs(5), remaining(11));
        assert!(
            estimate(&g) <= before + 1,
            "{} after {before}",
            estimate(&g)
        );
        assert!(estimate(&g) <= 2);
    }

    #[test]
    fn after_a_spent_period_one_request_learns_the_next_budget() {
        let t0 = Instant::now();
        let mut g = Governor::new(None);
        let left = |n| Signals {
            status: Some(200),
            remaining: Some(n),
            ..Signals::default()
        };
        g.try_start(t0).unwrap();
        g.answered(t0, t0, left(0));
        let end = t0 + BUDGET_PERIOD;
        assert_eq!(g.try_start(t0), Err(Wait::Until(end)));
        g.try_start(end).unwrap();
        assert_eq!(
            g.try_start(end),
            Err(Wait::Until(end + BUDGET_PERIOD)),
            "one probe"
        );
        // A late answer from before the period turned says nothing of the new one.
        g.answered(end - Duration::from_millis(10), end, left(40));
        assert!(g.budget.unwrap().probe);
        g.answered(end, end + Duration::from_millis(20), left(99));
        for _ in 0..8 {
            g.try_start(end + Duration::from_millis(20)).unwrap();
        }
    }

    #[test]
    fn only_a_refusal_holds_everyone_back_and_never_long() {
        let t0 = Instant::now();
        let mut g = Governor::new(None);
        let answer = |status, wait| Signals {
            status: Some(status),
            retry_after: Some(Duration::from_secs(wait)),
            ..Signals::default()
        };
        g.try_start(t0).unwrap();
        g.answered(t0, t0, answer(200, 30));
        assert_eq!(g.try_start(t0), Ok(()), "a 200 holds no one");
        g.answered(t0, t0, answer(429, 3600));
        assert_eq!(g.try_start(t0), Err(Wait::Until(t0 + MAX_HOLD)));
    }

    #[test]
    fn reads_and_writes_are_timed_apart() {
        let t0 = Instant::now();
        let mut g = Governor::new(None);
        let took = |g: &mut Governor, ms, write| {
            g.try_start(t0).unwrap();
            g.answered(
                t0,
                t0 + Duration::from_millis(ms),
                Signals {
                    status: Some(200),
                    write,
                    ..Signals::default()
                },
            );
        };
        took(&mut g, 20, false);
        let window = g.window();
        took(&mut g, 400, true);
        took(&mut g, 400, true);
        assert_eq!(g.window(), window + 2, "slow writes are not slow reads");
    }

    #[test]
    fn an_announced_budget_is_never_exceeded() {
        // 40 writes under 30 a minute: 30 in the first period, 10 in the next.
        let (refused, seconds) = against_a_budget(30, 0, 40, Duration::from_millis(20));
        assert_eq!(refused, 0);
        assert!(seconds <= 61.0, "{seconds} s");
        // The budget half spent before the run began (by the plan's reads, say).
        let (refused, seconds) = against_a_budget(30, 15, 40, Duration::from_millis(20));
        assert_eq!(refused, 0);
        assert!(seconds <= 121.0, "{seconds} s");
        // A large job: at least 90 % of the allowed rate, nothing refused.
        let (refused, seconds) = against_a_budget(100, 0, 1000, Duration::from_millis(50));
        assert_eq!(refused, 0);
        let per_minute = 1000.0 / seconds * 60.0;
        assert!(per_minute >= 90.0, "{per_minute:.1} a minute");
    }
}
