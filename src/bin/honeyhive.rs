//! The `honeyhive` command (`cargo install honeyhive --features cli`).
//!
//! `honeyhive upload <dir>` sends to HoneyHive what a folder of the local store holds: a run
//! kept on disk because HoneyHive could not be reached, or a local-mode run. The key comes
//! from the environment (`HH_API_KEY`, or `HH_INGESTION_API_KEY` for sessions and spans
//! alone), never from the command line, where other users of the machine could read it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use honeyhive::Config;
use honeyhive::upload::{UploadOptions, upload};

#[derive(Parser)]
#[command(name = "honeyhive", version, about = "HoneyHive from the command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send to HoneyHive what a run's folder (or a whole local store) holds, in order and
    /// under the ids it was recorded with. What HoneyHive acknowledges is recorded in the
    /// folder (uploaded.jsonl): run it again after an interruption and it resumes, and
    /// nothing is sent twice. Reads HH_API_KEY (or HH_INGESTION_API_KEY) and HH_API_URL.
    Upload {
        /// A run's folder (target/honeyhive/runs/<run id>) or a local store
        /// (target/honeyhive, every run under it).
        dir: PathBuf,
        /// List what would be sent, and send nothing.
        #[arg(long)]
        dry_run: bool,
        /// The HoneyHive API base URL (default: HH_API_URL, else HoneyHive's).
        #[arg(long, value_name = "URL")]
        api_url: Option<String>,
    },
}

fn main() -> ExitCode {
    let Cli { command } = Cli::parse();
    match command {
        Command::Upload {
            dir,
            dry_run,
            api_url,
        } => upload_command(dir, dry_run, api_url),
    }
}

fn upload_command(dir: PathBuf, dry_run: bool, api_url: Option<String>) -> ExitCode {
    let mut config = Config::builder();
    if let Some(url) = api_url {
        config = config.base_url(url);
    }
    let config = match config.build() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("honeyhive upload: could not start its async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = match dry_run {
        true => UploadOptions::dry_run(),
        false => UploadOptions::default(),
    };
    match runtime.block_on(upload(&dir, &config, &options)) {
        Ok(report) => {
            for request in &report.planned {
                println!("{request}");
            }
            for folder in &report.folders {
                println!("folder: {}", folder.display());
            }
            println!("honeyhive upload: {report}");
            ExitCode::SUCCESS
        }
        Err(honeyhive::Error::UploadStopped(report)) => {
            println!("honeyhive upload: {report}");
            eprintln!("honeyhive upload: stopped; run it again to resume");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
