//! crossforest, Cedar and casbin decide the same stream the same way (issue 8).
//! Nothing here is timed: `crossforest-bench compare` does the timing.

use crossforest_bench::compare::{check_agreement, decisions, disagreements, setup, Engines};
use crossforest_bench::engines::cedar::Cedar;
use crossforest_bench::model::Shape;

#[test]
fn three_engines_agree_on_every_request_of_the_stream() -> anyhow::Result<()> {
    let setup = setup(Shape::SMALL, 300)?;
    let engines = Engines::build(&setup)?;
    let allowed = check_agreement(&setup, &engines)?;
    // The stream exercises both outcomes, and every request kind.
    assert!(allowed > 60, "only {allowed} of 300 allowed");
    assert!(allowed < 240, "{allowed} of 300 allowed");
    for kind in 0..setup.kinds.len() as u8 {
        assert!(
            setup.stream.iter().any(|r| r.kind == kind),
            "kind {kind} missing"
        );
    }
    Ok(())
}

#[test]
fn a_translation_that_forgets_exclusive_scopes_is_caught() -> anyhow::Result<()> {
    let mut setup = setup(Shape::SMALL, 300)?;
    let reference = {
        let engines = Engines::build(&setup)?;
        decisions(&engines.crossforest, &setup.stream)?
    };
    // Regular assignments now also write recipients that exclusive scopes protect.
    for rule in &mut setup.rules.rules {
        rule.unprotected_only = false;
    }
    let wrong = Cedar::new(
        &setup.model,
        &setup.rules,
        &setup.workload.callers,
        &setup.kinds,
    )?;
    let bad = disagreements(&reference, &decisions(&wrong, &setup.stream)?);
    assert!(
        !bad.is_empty(),
        "the agreement check would miss a wrong translation"
    );
    for i in bad {
        let r = setup.stream[i];
        assert!(
            setup.model.recipients[r.recipient as usize]
                .attributes
                .contains_key("CustomAttribute15"),
            "request {i} disagrees on an unprotected recipient"
        );
        assert!(
            !reference[i],
            "request {i}: crossforest allowed, wrong Cedar denied"
        );
    }
    Ok(())
}
