use super::*;

fn fake_results() -> Results {
    serde_json::from_str(include_str!("../../tests/data/small-results.json")).unwrap()
}

#[test]
fn write_creates_the_report_and_replaces_an_old_one_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let runs = [fake_results()];
    write(&runs, &out).unwrap();
    assert!(out.join("results.json").exists());
    assert!(out.join("REPORT.md").exists());
    std::fs::write(out.join("stale.txt"), b"old").unwrap();
    write(&runs, &out).unwrap();
    assert!(!out.join("stale.txt").exists(), "the old report is replaced as a whole");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(Result::ok).collect();
    assert_eq!(leftovers.len(), 1, "no staging folder is left behind");
}

#[test]
fn a_folder_of_other_files_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("thesis.tex"), b"precious").unwrap();
    let err = write(&[fake_results()], dir.path()).unwrap_err();
    assert_eq!(crate::error::exit_code(&err), 2);
    assert!(dir.path().join("thesis.tex").exists());
}

#[test]
fn a_file_as_out_is_refused() {
    let file = tempfile::NamedTempFile::new().unwrap();
    assert!(write(&[fake_results()], file.path()).is_err());
}
