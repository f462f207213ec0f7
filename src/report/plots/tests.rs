//! Each plot renders a well-formed SVG from the small results file: a title, text, drawn
//! shapes, and (for the pictures) embedded PNGs.

use super::*;

/// A small run-all, with the steps of a larger-than-memory run of the same shape added so
/// that every plot has its data (both are real runs, at shape 8x12x10x3), and the formats
/// steps of a real run at 24x120x120x3.
fn fixture() -> Results {
    let mut run: Results =
        serde_json::from_str(include_str!("../../../tests/data/small-results.json")).unwrap();
    let larger: Results =
        serde_json::from_str(include_str!("../../../tests/data/larger-results.json")).unwrap();
    run.steps.extend(larger.steps);
    let formats: Results =
        serde_json::from_str(include_str!("../../../tests/data/formats-results.json")).unwrap();
    run.steps.extend(formats.steps);
    run
}

fn parse_and_check(plot: &dyn Plot, svg: &str) {
    let doc = roxmltree::Document::parse(svg)
        .unwrap_or_else(|e| panic!("{}: not well-formed: {e}", plot.file_name()));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let title = root.children().find(|n| n.has_tag_name("title")).expect("a <title>");
    assert_eq!(title.text(), Some(plot.title()));
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_owned()))
        .collect();
    // The title is drawn (maybe wrapped on two lines): its first word opens a drawn text.
    let first_word = plot.title().split(' ').next().unwrap();
    assert!(texts.iter().any(|t| t.starts_with(first_word)), "{}: title not drawn", plot.file_name());
    let shapes = doc
        .descendants()
        .filter(|n| ["rect", "polyline", "line", "image"].iter().any(|t| n.has_tag_name(*t)))
        .count();
    assert!(shapes > 10, "{}: only {shapes} shapes drawn", plot.file_name());
    assert!(!texts.iter().any(|t| t.contains("NaN") || t.contains("inf")), "{}: {texts:?}", plot.file_name());
}

#[test]
fn every_plot_renders_a_well_formed_svg_with_a_title_and_shapes() {
    let runs = [fixture()];
    assert_eq!(available(&runs).len(), all().len(), "the small run has data for every plot");
    for plot in all() {
        let svg = render(plot.as_ref(), &runs).unwrap();
        parse_and_check(plot.as_ref(), &svg);
    }
}

#[test]
fn plots_draw_two_runs_side_by_side() {
    let a = fixture();
    let mut b = fixture();
    b.machine.hostname = "ci".to_owned();
    let runs = [a.clone(), b];
    for plot in all() {
        let one = plot.size(std::slice::from_ref(&a));
        let two = plot.size(&runs);
        assert!(two.0 > one.0 || two.1 > one.1, "{}: no room made for the second run", plot.file_name());
        let svg = render(plot.as_ref(), &runs).unwrap();
        parse_and_check(plot.as_ref(), &svg);
        assert!(svg.contains("run 2: ci"), "{}: the second run is not named", plot.file_name());
    }
}

#[test]
fn the_picture_embeds_one_png_per_warm_step() {
    let runs = [fixture()];
    let svg = render(&picture::PicturePlot, &runs).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let images: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("image")).collect();
    assert_eq!(images.len(), 6);
    for image in images {
        let href = image.attribute("href").unwrap();
        let png = href.strip_prefix("data:image/png;base64,").unwrap();
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
    }
    // The verdicts under the pictures come from the numbers.
    assert!(svg.contains("shifted by 16 values: colour channels rotated"));
    assert!(svg.contains("raw bytes of the file, header first"));
    assert_eq!(svg.matches("the original picture").count(), 4 + 1, "four steps and the legend");
}

#[test]
fn a_plot_without_data_is_left_out() {
    let mut run = fixture();
    for s in &mut run.steps {
        s.preview = None;
        for snap in &mut s.snapshots {
            snap.residency.clear();
        }
    }
    let names: Vec<&str> = available(std::slice::from_ref(&run)).iter().map(|p| p.file_name()).collect();
    assert!(!names.contains(&"first-sample.svg") && !names.contains(&"residency.svg"), "{names:?}");
    assert!(names.contains(&"memory.svg"));
}
