//! `recobro`: the one binary of Recobro.

mod bench;
mod compliance_cmd;
mod demo;
mod documents_cmd;
mod load;
mod process_cmd;
mod replay_cmd;
mod serve;
mod settings;
mod token_cmd;
mod verify_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "recobro",
    version,
    about = "Debt collection driven by BPMN case actors"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with BPMN process models.
    #[command(subcommand)]
    Process(ProcessCommand),
    /// Run one case of the bundled collections strategy through the case runtime and its
    /// ledger, on a virtual clock and a throw-away database, and print its trace.
    Demo,
    /// Run the HTTP server (migrates the database first).
    Serve(serve::ServeArgs),
    /// Verify the hash chains of the case journal; exit 1 when one is broken.
    Verify(verify_cmd::VerifyArgs),
    /// Rebuild a case from its journal and compare it with the projections.
    Replay(replay_cmd::ReplayArgs),
    /// The contact compliance gate: replay past contacts under the rules of their day.
    #[command(subcommand)]
    Compliance(compliance_cmd::ComplianceCommand),
    /// Load driver for crash tests and demos: opens N cases of a built-in dunning model and
    /// drives them all to completion through the durable runtime (tasks, timers on a
    /// virtual clock, jobs), resuming from the database after a crash. Prints
    /// `ack <idempotency-key> <case_id> <seq>` per committed command, then `done`.
    Load(load::LoadArgs),
    /// Case documents: integrity check and clean-up.
    #[command(subcommand)]
    Documents(documents_cmd::DocumentsCommand),
    /// Benchmark the case runtime against plain-database baselines.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Mint bearer tokens from the embedded issuer.
    #[command(subcommand)]
    Token(token_cmd::TokenCommand),
    /// Manage OAuth2 API clients (client-credentials grant) of partner systems.
    #[command(subcommand)]
    Client(token_cmd::ClientCommand),
}

#[derive(Subcommand)]
enum ProcessCommand {
    /// Check BPMN files: `ok FILE` or `error FILE:LINE:COL: message`, one line per file.
    Check {
        /// Also check that every executable process can run in Recobro.
        #[arg(long)]
        executable: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Deploy the files, run the first file's executable process on a virtual clock and
    /// print one JSON line per completed flow node, then the end state.
    Trace {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Start variables (a JSON object).
        #[arg(long, default_value = "{}")]
        vars: String,
        /// Variables each task/job completes with: {"ElementId": {...}, "*": {...}}; a
        /// list gives one object per visit. Message catch events named here receive
        /// their message with those variables.
        #[arg(long, default_value = "{}")]
        outputs: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Process(ProcessCommand::Check { executable, files }) => {
            process_cmd::check(&files, executable)
        }
        Command::Process(ProcessCommand::Trace {
            files,
            vars,
            outputs,
        }) => process_cmd::trace(&files, &vars, &outputs),
        Command::Demo => demo::run(),
        Command::Serve(args) => serve::run(args),
        Command::Verify(args) => verify_cmd::run(args),
        Command::Replay(args) => replay_cmd::run(args),
        Command::Compliance(cmd) => compliance_cmd::run(cmd),
        Command::Load(args) => load::main(args),
        Command::Documents(cmd) => documents_cmd::run(cmd),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Token(cmd) => token_cmd::token(cmd),
        Command::Client(cmd) => token_cmd::client(cmd),
    }
}
