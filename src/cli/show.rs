//! `rollcall show PLAN`: a saved plan, rendered again, without the account.

use super::{PlanFormat, Printer, ShowArgs, exit};
use crate::model::vocab::Provider;
use crate::plan::saved::SavedPlan;
use crate::render::{self, TargetInfo};

pub const EXAMPLES: &str = "\
Examples:
  rollcall show plan.json                           the plan as `rollcall plan` printed it
  rollcall show plan.json --format markdown         for the job summary of the run that applies it
  rollcall show plan.json --format diff             each changed user, as recorded against desired

No network call is made and no desired file is read: everything shown comes from the saved plan.
A saved plan is recognised by its content, whatever its name.
Exit status: 0 shown, 1 the file is not a saved plan this rollcall reads.";

pub fn run(args: &ShowArgs, output: Printer) -> anyhow::Result<u8> {
    let (saved, checksum) = SavedPlan::read(&args.path)
        .map_err(|why| anyhow::anyhow!("cannot show `{}`: {why}", args.path.display()))?;
    let Some(provider) = Provider::parse(&saved.target.provider) else {
        anyhow::bail!(
            "cannot show `{}`: it names an unknown provider",
            args.path.display()
        );
    };
    let target = TargetInfo {
        provider,
        url: saved.target.url.clone(),
    };
    let plan = &saved.plan;
    let text = match args.format {
        PlanFormat::Human => render::human::render(plan, &target, output.color_stdout),
        PlanFormat::Json => render::json::render(plan, &target),
        PlanFormat::Markdown => {
            render::markdown::render_within(plan, &target, Some(&checksum), args.max_bytes)
        }
        PlanFormat::Diff => render::diff::render(plan, &saved.recorded_live()),
    };
    match args.format {
        PlanFormat::Human if output.quiet() => {
            output.summary(render::human::summary(plan, &target));
        }
        _ => output.data(&text),
    }
    Ok(exit::OK)
}
