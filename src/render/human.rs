//! The plan as people read it, in the spirit of `terraform plan`.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::TargetInfo;
use crate::escape::visible;
use crate::model::capabilities::Capabilities;
use crate::plan::Plan;
use crate::plan::view::{Sign, View, plural};

/// Said where a narrowed run leaves the files' access unplanned.
pub const ACCESS_SKIPPED: &str = "Groups and permissions were not planned: they reach users outside `--target-user`/`--exclude-user`; plan without them to see those changes.";

/// Renders `plan`; `color` adds ANSI styles.
pub fn render(plan: &Plan, target: &TargetInfo, color: bool) -> String {
    let caps = target.provider.capabilities();
    let paint = |style: Style, text: &str| {
        if color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    };
    let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
    let yellow = Style::new().fg_color(Some(AnsiColor::Yellow.into()));
    let red = Style::new().fg_color(Some(AnsiColor::Red.into()));
    let bold = Style::new().bold();

    let view = View::new(plan);
    let mut out = String::new();
    if plan.is_empty() {
        let (head, tail) = no_changes(plan);
        let _ = writeln!(out, "{} {tail}", paint(bold, head));
    } else {
        let _ = writeln!(
            out,
            "rollcall will perform the following actions on {} {}:\n",
            target.provider,
            visible(&target.url)
        );
        for line in lines(&view, caps) {
            let style = match line.sign {
                Some(Sign::Add) => green,
                Some(Sign::Remove) => red,
                Some(Sign::Change) => yellow,
                _ => Style::new(),
            };
            let sign = line.sign.map_or(String::new(), |s| {
                format!("{} ", paint(style, &s.symbol().to_string()))
            });
            let text = if line.heading {
                paint(bold, &line.text)
            } else {
                line.text
            };
            let _ = writeln!(out, "{}{sign}{text}", " ".repeat(line.indent));
        }
        out.push_str(&paint(
            bold,
            &format!("Plan: {}.", view.counts.sentence(caps)),
        ));
        out.push('\n');
        if !plan.access_effects.is_empty() {
            out.push_str(
                "Effective access, the highest of each person's own and groups' permissions:\n",
            );
            for line in crate::plan::view::effect_lines(&plan.access_effects) {
                let _ = writeln!(out, "  {}", visible(&line));
            }
        }
    }
    if !plan.unfixable.is_empty() {
        out.push_str("Differences rollcall cannot change:\n");
        for line in &plan.unfixable {
            let _ = writeln!(out, "  - {}", visible(line));
        }
    }
    if !plan.unmanaged.is_empty() {
        let _ = writeln!(out, "{}:", plan.unmanaged_heading(plan.unmanaged.len()));
        for line in plan.unmanaged_lines(|_| true, |s| visible(s).into_owned()) {
            let _ = writeln!(out, "  - {line}");
        }
    }
    if plan.out_of_scope > 0 {
        let n = plan.out_of_scope;
        let users = if n == 1 { "user has" } else { "users have" };
        let removals = match plan.out_of_scope_removals {
            0 => String::new(),
            1 => " (1 removal)".into(),
            r => format!(" ({r} removals)"),
        };
        let _ = writeln!(
            out,
            "{n} more {users} pending changes{removals} outside `--target-user`/`--exclude-user`; they were not planned."
        );
    }
    if plan.access_skipped {
        out.push_str(ACCESS_SKIPPED);
        out.push('\n');
    }
    if !plan.matched_by_email.is_empty() {
        let _ = writeln!(
            out,
            "Matched by email, as the account's list does not show them under the files' {}: {}.",
            caps.identity,
            visible(&plan.matched_by_email.join(", "))
        );
    }
    if !plan.protected.is_empty() {
        let _ = writeln!(
            out,
            "Protected by `policy.protect`, left as they are: {}.",
            plan.protected
                .iter()
                .map(|k| visible(crate::plan::display_key(k)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for blocked in &plan.blocked {
        let _ = writeln!(
            out,
            "\n{}: {}",
            paint(
                red.bold(),
                &format!("Blocked by the {} guard", blocked.guard)
            ),
            visible(&blocked.message)
        );
        if let Some(hint) = &blocked.hint {
            let _ = writeln!(out, "  hint: {}", visible(hint));
        }
    }
    out
}

/// The plan in one line: `Plan: 2 to invite, 1 to change, 1 to delete (6 actions).`, or that
/// nothing changes.
pub fn summary(plan: &Plan, target: &TargetInfo) -> String {
    if plan.is_empty() {
        let (head, tail) = no_changes(plan);
        return format!("{head} {tail}");
    }
    let counts = View::new(plan).counts;
    format!("Plan: {}.", counts.sentence(target.provider.capabilities()))
}

/// What a plan without actions says: that the account matches, only when it does.
fn no_changes(plan: &Plan) -> (&'static str, String) {
    if !plan.unfixable.is_empty() {
        (
            "No changes rollcall can make.",
            format!(
                "The account still differs from the files in {} it cannot change.",
                plural(plan.unfixable.len(), "way", "ways")
            ),
        )
    } else if plan.out_of_scope > 0 {
        (
            "No changes.",
            "Nothing in scope differs from the files.".into(),
        )
    } else {
        ("No changes.", "The account matches the files.".into())
    }
}

/// One line of a plan's body: its indentation, the sign shown before it (which Markdown moves to
/// the first column), and its text.
pub struct Line {
    pub indent: usize,
    pub sign: Option<Sign>,
    pub text: String,
    /// A subject's `#` heading.
    pub heading: bool,
}

/// The body of a plan, subject by subject, as lines.
pub fn lines(view: &View, caps: &Capabilities) -> Vec<Line> {
    let mut out = Vec::new();
    let line = |indent, sign, text, heading| Line {
        indent,
        sign,
        text,
        heading,
    };
    for subject in &view.subjects {
        let reason = subject
            .reason()
            .map(|r| format!(" ({})", visible(r)))
            .unwrap_or_default();
        let (noun, name) = (subject.noun(), visible(subject.name()));
        out.push(line(
            2,
            None,
            format!("# {noun} \"{name}\" {}{reason}", subject.what(caps)),
            true,
        ));
        out.push(line(
            2,
            Some(subject.sign()),
            format!("{noun} \"{name}\" {{"),
            false,
        ));
        let rows = subject.rows();
        let width = rows.iter().map(|r| r.attribute.len()).max().unwrap_or(0);
        for row in rows {
            out.push(line(
                6,
                Some(row.sign),
                format!("{:<width$} = {}", row.attribute, row.value),
                false,
            ));
        }
        let hidden = subject.unchanged();
        if hidden > 0 {
            out.push(line(
                8,
                None,
                format!(
                    "# ({} hidden)",
                    plural(hidden, "unchanged attribute", "unchanged attributes")
                ),
                false,
            ));
        }
        out.push(line(4, None, "}".into(), false));
        out.push(line(0, None, String::new(), false));
    }
    out
}
