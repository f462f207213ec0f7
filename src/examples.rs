//! The examples every subcommand's `--help` ends with: two or three commands that work as
//! written, from any folder (the experiments are built in).

/// `run-all`.
pub const RUN_ALL: &str = "\
Examples:
  # a first taste: 40 samples, 55 MB of data
  mmap-lab run-all --shape 40x120x120x3 --out /tmp/try
  # the tutorial's full size: 5.53 GB in ./data, report in ./reports
  mmap-lab run-all
  # warm page cache only, without the NumPy column
  mmap-lab run-all --cache warm --no-python --rounds 1";

/// `run`.
pub const RUN: &str = "\
Examples:
  # two built-in experiments, by id
  mmap-lab run npy_load_mmap npy_load --shape 40x120x120x3
  # a spec of your own (see docs/specs.md)
  mmap-lab run my_step.toml --out my-report
  # one experiment, cold page cache only
  mmap-lab run access_random_batches --cache cold";

/// `generate`.
pub const GENERATE: &str = "\
Examples:
  # X_train.npy and X_train_raw.rbf at full size in ./data
  mmap-lab generate
  mmap-lab generate --shape 40x120x120x3 --data-dir /tmp/small
  # uint8 pictures from another seed, replacing valid files
  mmap-lab generate --dtype u1 --seed 7 --regenerate";

/// `larger-than-memory`.
pub const LARGER: &str = "\
Examples:
  # 1.25 x this machine's memory, in ./data/larger-than-memory
  mmap-lab larger-than-memory
  mmap-lab larger-than-memory --factor 1.5 --data-dir /mnt/big
  # a small rehearsal that fits in memory
  mmap-lab larger-than-memory --shape 2000x120x120x3";

/// `report`.
pub const REPORT: &str = "\
Examples:
  # redraw a report without measuring
  mmap-lab report --results reports/results.json --out /tmp/redrawn
  mmap-lab report --results alice/results.json bob/results.json --out course-report";

/// `inspect`.
pub const INSPECT: &str = "\
Examples:
  # header, layout and the call that maps it
  mmap-lab inspect data/X_train.npy
  # check a raw file's size
  mmap-lab inspect data/X_train_raw.rbf --dtype f8 --shape 4002x120x120x3
  mmap-lab inspect student.npy --json";

/// `lab`.
pub const LAB: &str = "\
Examples:
  mmap-lab lab list
  mmap-lab lab show 1
  mmap-lab lab init 1 && mmap-lab lab run 1 --answers lab01-answers.toml";

/// `lab list`.
pub const LAB_LIST: &str = "\
Examples:
  mmap-lab lab list
  # the labs of another folder, checked
  mmap-lab lab --labs my-labs list";

/// `lab show`.
pub const LAB_SHOW: &str = "\
Examples:
  mmap-lab lab show 1
  mmap-lab lab show npy_header";

/// `lab init`.
pub const LAB_INIT: &str = "\
Examples:
  # writes lab01-answers.toml here
  mmap-lab lab init 1
  mmap-lab lab init 3 --dir work";

/// `lab run`.
pub const LAB_RUN: &str = "\
Examples:
  # at a terminal: asks each question, then measures
  mmap-lab lab run 1
  mmap-lab lab run 1 --answers lab01-answers.toml
  mmap-lab lab run 5 --answers a.toml --results reports/results.json --json";

/// `lab check`.
pub const LAB_CHECK: &str = "\
Examples:
  # every lab at its smallest and largest supported shape, in a temporary folder
  mmap-lab lab check
  # the lab you are writing, with its answer key
  mmap-lab lab check 7 --answers-key
  # one tiny run: does every quantity resolve?
  mmap-lab lab check --shape 16x24x20x3";

/// `lab grade`.
pub const LAB_GRADE: &str = "\
Examples:
  # a folder of the class's answers files, one measurement, a CSV for the gradebook
  mmap-lab lab grade 3 --answers collected/ --csv lab03-grades.csv
  # against a measurement already made by `lab run` or `lab grade`
  mmap-lab lab grade 3 --answers a.toml b.toml --results data/labs/lab03-report/results.json --json";

/// `lab export`.
pub const LAB_EXPORT: &str = "\
Examples:
  # the handout with its questions, and the answers template, for students
  mmap-lab lab export 3 --student handouts/lab03
  mmap-lab lab --labs my-labs export 8 --student handouts/lab08";

/// `lab quantities`.
pub const LAB_QUANTITIES: &str = "\
Examples:
  mmap-lab lab quantities
  mmap-lab lab quantities | grep rss";

/// `check`.
pub const CHECK: &str = "\
Examples:
  # once, on a machine like your CI runners
  mmap-lab check --save-baseline baselines/ci.json
  # in CI: exit 0, 1 on a regression, 2 on bad input
  mmap-lab check --baseline baselines/ci.json
  # memory and correctness only
  mmap-lab check --baseline baselines/ci.json --time-floor 1s";

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every visible subcommand, at any depth, with its path (`lab run`).
    fn visible(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = format!("{path} {}", sub.get_name()).trim().to_owned();
            out.push((name.clone(), sub.clone()));
            visible(sub, &name, out);
        }
    }

    #[test]
    fn every_subcommands_help_ends_with_examples_that_name_mmap_lab() {
        let mut all = Vec::new();
        visible(&crate::cli::Cli::command(), "", &mut all);
        assert!(all.len() >= 14, "{:?}", all.iter().map(|(n, _)| n).collect::<Vec<_>>());
        for (name, mut cmd) in all {
            let help = cmd.render_long_help().to_string();
            let examples = help.rsplit("Examples:").next().filter(|_| help.contains("Examples:"));
            let examples = examples.unwrap_or_else(|| panic!("`mmap-lab {name} --help` has no examples"));
            let lines: Vec<&str> =
                examples.lines().filter(|l| l.trim_start().starts_with("mmap-lab ")).collect();
            assert!(lines.len() >= 2, "`mmap-lab {name} --help`: {examples}");
            for line in lines {
                assert!(
                    line.trim_start()
                        .starts_with(&format!("mmap-lab {}", name.split(' ').next().unwrap_or(""))),
                    "`{name}`: an example of another command: {line}"
                );
            }
        }
    }

    #[test]
    fn generate_says_regenerate_and_still_takes_force() {
        use clap::Parser;
        let mut cmd = crate::cli::Cli::command();
        let help =
            cmd.find_subcommand_mut("generate").map(|c| c.render_long_help().to_string()).unwrap_or_default();
        assert!(help.contains("--regenerate") && !help.contains("  --force"), "{help}");
        for flag in ["--regenerate", "--force"] {
            let cli = crate::cli::Cli::try_parse_from(["mmap-lab", "generate", flag]);
            assert!(cli.is_ok(), "{flag}: {:?}", cli.err());
        }
    }
}
