//! What a lab runs: its experiments by id, the steps they plan (as results will name them),
//! and the shapes where its answers hold.

use crate::cache::CacheState;
use crate::lab::quantity::PlannedStep;
use crate::shape::Shape;
use crate::spec::LoadedSpec;

use super::DEFAULT_SHAPE;

pub(super) fn resolve_experiments(
    ids: &[String],
    available: &[LoadedSpec],
) -> Result<Vec<LoadedSpec>, String> {
    if ids.is_empty() {
        return Err("experiments is empty: name the experiments the lab runs, by id".to_owned());
    }
    let mut out: Vec<LoadedSpec> = Vec::with_capacity(ids.len());
    for id in ids {
        if out.iter().any(|s| s.spec.id == *id) {
            return Err(format!("experiment '{id}' is named twice"));
        }
        let found = available.iter().find(|s| s.spec.id == *id).ok_or_else(|| {
            format!(
                "experiment '{id}' does not exist: give the id of a spec in experiments/ or experiments/labs/specs/ (`id = ...` inside it)"
            )
        })?;
        out.push(found.clone());
    }
    Ok(out)
}

/// Mirrors the runner's plan: each spec under each of its cache states (filtered by the
/// lab's), and a step per worker count for a sharing spec.
pub(super) fn plan<'a>(experiments: &'a [LoadedSpec], cache: Option<&[CacheState]>) -> Vec<PlannedStep<'a>> {
    let mut steps = Vec::new();
    for state in [CacheState::Warm, CacheState::Cold] {
        for loaded in experiments {
            let spec = &loaded.spec;
            if !spec.cache.contains(&state) || cache.is_some_and(|c| !c.contains(&state)) {
                continue;
            }
            match &spec.workers {
                Some(counts) => steps.extend(counts.iter().map(|k| PlannedStep {
                    result_id: format!("{}_k{k}", spec.id),
                    cache: state,
                    spec,
                })),
                None => steps.push(PlannedStep { result_id: spec.id.clone(), cache: state, spec }),
            }
        }
    }
    steps
}

/// The shapes a lab supports, smallest first; by default the lab's default shape alone.
pub(super) fn supported_shapes(raw: Option<&[String]>) -> Result<Vec<Shape>, String> {
    let Some(raw) = raw else {
        return Ok(vec![Shape::parse(DEFAULT_SHAPE).map_err(|e| e.to_string())?]);
    };
    if raw.is_empty() {
        return Err("shapes lists none: give the smallest and largest shape the lab supports, e.g. shapes = [\"40x120x120x3\", \"400x120x120x3\"]".to_owned());
    }
    let mut shapes = Vec::with_capacity(raw.len());
    for s in raw {
        shapes.push(Shape::parse(s).map_err(|e| format!("shapes: '{s}': {e}"))?);
    }
    shapes.sort_by_key(Shape::len);
    Ok(shapes)
}
