//! What a provider can store: its fields, states, languages and numbers.

use super::*;

/// Keys a provider does not store, and states it cannot express.
pub(super) fn check_fields(
    checker: &mut Checker,
    source: SourceId,
    present: &[(&'static str, Span)],
    caps: &Capabilities,
    whose: &str,
) {
    for (key, span) in present {
        if *key == caps.identity || caps.user_fields.contains(key) || *key == "state" {
            continue;
        }
        // Where the email is the identity, a new email is a new user.
        if *key == "former_emails" && caps.identity == "email" {
            checker
                .error(
                    at(source, *span),
                    format!("{} cannot change a user's email", caps.name),
                )
                .hint = Some(format!(
                "remove `former_emails`; {} identifies users by email, so a new address is a new user: list the old one with `state: absent`",
                caps.name
            ));
            continue;
        }
        let mut supported: Vec<&str> = vec![caps.identity];
        supported.extend(caps.user_fields);
        supported.push("state");
        checker
            .error(
                at(source, *span),
                format!("{} {whose} have no `{key}`", caps.name),
            )
            .hint = Some(format!(
            "remove it; {} {whose} have {}",
            caps.name,
            list(&supported)
        ));
    }
}

pub(super) fn check_state(
    checker: &mut Checker,
    source: SourceId,
    state: Option<&Spanned<State>>,
    caps: &Capabilities,
) {
    let Some(state) = state else { return };
    if caps.states.contains(&state.value) {
        return;
    }
    let hint = match state.value {
        State::Deactivated => format!(
            "{} can only delete users: write `state: absent` to delete, or keep the user `active`",
            caps.name
        ),
        _ => format!(
            "{} supports {}",
            caps.name,
            list(&caps.states.iter().map(|s| s.as_str()).collect::<Vec<_>>())
        ),
    };
    checker
        .error(
            at(source, state.span),
            format!("{} cannot express `state: {}`", caps.name, state.value),
        )
        .hint = Some(hint);
}

pub(super) fn check_language(
    checker: &mut Checker,
    source: SourceId,
    language: Option<&Spanned<crate::model::vocab::LanguageTag>>,
    caps: &Capabilities,
) {
    let (Some(language), Some(supported)) = (language, caps.languages) else {
        return;
    };
    let tag = &language.value;
    if !supported.contains(&tag.primary()) {
        checker
            .error(
                at(source, language.span),
                format!(
                    "{} does not support the language `{}`",
                    caps.name,
                    tag.primary()
                ),
            )
            .hint = Some(format!(
            "supported languages are {}, with an optional region such as `en-US`",
            supported.join(", ")
        ));
    } else if let Some(region) = tag.region() {
        if ISO_3166_ALPHA2.binary_search(&region).is_err() {
            checker
                .error(
                    at(source, language.span),
                    format!("region `{region}` is not an ISO 3166-1 alpha-2 country code"),
                )
                .hint = Some(format!(
                "use a country code such as `{}-US` or `{}-GB`",
                tag.primary(),
                tag.primary()
            ));
        }
    } else if caps.language_region {
        let usual = format!(
            "{}-{}",
            tag.primary(),
            crate::model::capabilities::usual_region(tag.primary())
        );
        checker
            .error(
                at(source, language.span),
                format!(
                    "{} needs a region in the language, and `{}` has none",
                    caps.name,
                    tag.as_str()
                ),
            )
            .hint = Some(format!(
            "write `{usual}`, or the language with another ISO 3166-1 country code; the service may refuse a bare `{}`",
            tag.primary()
        ));
    } else if tag.as_str().contains('-') {
        checker
            .error(
                at(source, language.span),
                format!("{} language tags have no script subtag", caps.name),
            )
            .hint = Some(format!(
            "write `{}` or `{}-XX` with a country code",
            tag.primary(),
            tag.primary()
        ));
    }
}

pub(super) fn check_defaults(
    checker: &mut Checker,
    source: SourceId,
    defaults: &DefaultsDoc,
    caps: &Capabilities,
) {
    check_fields(checker, source, &defaults.keys_present(), caps, "users");
    check_state(checker, source, defaults.state.as_ref(), caps);
    check_language(checker, source, defaults.language.as_ref(), caps);
    check_numbers(checker, source, defaults.sessions_limit.as_ref());
}

pub(super) fn check_numbers(
    checker: &mut Checker,
    source: SourceId,
    sessions_limit: Option<&Spanned<u32>>,
) {
    if let Some(limit) = sessions_limit
        && !(1..=999_999).contains(&limit.value)
    {
        checker
            .error(
                at(source, limit.span),
                "`sessions_limit` must be from 1 to 999999",
            )
            .hint = Some("remove the key to leave the limit unmanaged".into());
    }
}
