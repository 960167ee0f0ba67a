//! crossforest, Cedar and casbin decide the same stream the same way (issue 8).
//! Nothing here is timed: `crossforest-bench compare` does the timing.

use crossforest_bench::compare::{check_agreement, decisions, disagreements, setup, Caps, Engines};
use crossforest_bench::engines::casbin_rbac::Casbin;
use crossforest_bench::engines::cedar::Cedar;
use crossforest_bench::engines::Engine;
use crossforest_bench::model::Shape;

#[test]
fn every_engine_sliced_or_not_agrees_on_every_request_of_the_stream() -> anyhow::Result<()> {
    let setup = setup(Shape::SMALL, 300)?;
    let engines = Engines::build(&setup)?;
    let names: Vec<&str> = engines.peers().iter().map(|(e, _)| e.name()).collect();
    assert_eq!(names, ["cedar", "cedar-sliced", "casbin", "casbin-sliced"]);
    // A caller's casbin enforcer holds a real slice: some lines, not all.
    let slice = engines.casbin_sliced.mean_slice;
    assert!(
        slice >= 1.0 && slice < engines.casbin.policy_count as f64,
        "casbin slice {slice} of {}",
        engines.casbin.policy_count
    );
    let allowed = check_agreement(&setup, &engines, Caps::NONE)?;
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
    let (model, callers, kinds) = (&setup.model, &setup.workload.callers, &setup.kinds);
    let cedar = Cedar::new(model, &setup.rules, callers, kinds)?;
    let casbin = Casbin::new(model, &setup.rules, callers, kinds)?;
    let wrong: [&dyn Engine; 4] = [&cedar, &cedar.sliced(), &casbin, &casbin.sliced()?];
    for engine in wrong {
        a_wrong_engine_is_caught(engine, &setup, &reference)?;
    }
    Ok(())
}

fn a_wrong_engine_is_caught(
    engine: &dyn Engine,
    setup: &crossforest_bench::compare::Setup,
    reference: &[bool],
) -> anyhow::Result<()> {
    let name = engine.name();
    let bad = disagreements(reference, &decisions(engine, &setup.stream)?);
    assert!(
        !bad.is_empty(),
        "the agreement check would miss a wrong {name} translation"
    );
    for i in bad {
        let r = setup.stream[i];
        assert!(
            setup.model.recipients[r.recipient as usize]
                .attributes
                .contains_key("CustomAttribute15"),
            "request {i}: {name} disagrees on an unprotected recipient"
        );
        assert!(
            !reference[i],
            "request {i}: crossforest allowed, wrong {name} denied"
        );
    }
    Ok(())
}
