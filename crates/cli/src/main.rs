//! `phonghop`: the command-line face of Phonghop. Each subcommand lives in its
//! own module and calls into the library crates; no domain logic here.

mod admin;
mod bench_render;
mod bench_sync;
mod bench_vote;
mod demo;
mod net_cmd;
mod pdf_cmd;
mod show;
mod time;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Phonghop — paperless meeting room.
///
/// The secretariat prepares meetings on a hub (agenda, papers, delegates);
/// delegates read, annotate and vote in the desktop app.
#[derive(Debug, Parser)]
#[command(name = "phonghop", version)]
struct Cli {
    /// The hub's data folder (or set PHONGHOP_DATA).
    #[arg(long, global = true, env = "PHONGHOP_DATA", value_name = "DIR")]
    data: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new hub in the data folder: database, signing key, blob store.
    Init,
    /// Register people (delegates, chair, secretaries).
    #[command(subcommand)]
    Person(admin::PersonCmd),
    /// Create, list, show and publish meetings; add members.
    #[command(subcommand)]
    Meeting(admin::MeetingCmd),
    /// Build a meeting's agenda.
    #[command(subcommand)]
    Agenda(admin::AgendaCmd),
    /// Attach papers (PDF files) to a meeting.
    #[command(subcommand)]
    Paper(admin::PaperCmd),
    /// Check the hub's event log.
    #[command(subcommand)]
    Log(admin::LogCmd),
    /// Create the demo meeting (HĐND tỉnh Sơn Hà) from assets/ and print its agenda.
    Demo {
        /// Where to keep the demo hub (default: ./.phonghop-demo).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Run the hub server (HTTP on loopback, HTTPS with --tls).
    Hub(net_cmd::HubArgs),
    /// Make a one-time invite string for a person's device (valid 7 days
    /// unless --hours), or cancel unused ones: `invite cancel PERSON|CODE`.
    Invite(net_cmd::InviteArgs),
    /// List or revoke paired devices.
    #[command(subcommand)]
    Device(net_cmd::DeviceCmd),
    /// Join a hub from this computer (device side) with an invite string,
    /// or the short code with the hub's address (`CODE@host:port`), or the
    /// code alone (the hub is looked for on the local network).
    Join {
        /// The invite, e.g. phonghop:ABCD-EFGH-JKMN-PQRS@192.168.1.10:8443/…,
        /// or ABCD-EFGH-JKMN-PQRS@192.168.1.10:8443, or ABCD-EFGH-JKMN-PQRS.
        invite: String,
        /// A name for this device.
        #[arg(long)]
        label: Option<String>,
    },
    /// Bring this device up to date with its hub (device side).
    Sync,
    /// Show what this device holds (device side).
    Status,
    /// Verify a meeting export offline: chain, hub and ballot signatures, tallies.
    Audit {
        /// The export file (`phonghop meeting export`).
        file: PathBuf,
        /// The hub key the export must be signed with: its fingerprint
        /// (as `phonghop init` and `phonghop status` print it) or its full
        /// hex. Without it, the audit only shows whose key signed it.
        #[arg(long, value_name = "FINGERPRINT")]
        hub_key: Option<String>,
    },
    /// Work with PDF files.
    #[command(subcommand)]
    Pdf(pdf_cmd::PdfCmd),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(bench_render::BenchCmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init => admin::init(cli.data.as_deref()),
        Command::Person(c) => admin::person(cli.data.as_deref(), c),
        Command::Meeting(c) => admin::meeting(cli.data.as_deref(), c),
        Command::Agenda(c) => admin::agenda(cli.data.as_deref(), c),
        Command::Paper(c) => admin::paper(cli.data.as_deref(), c),
        Command::Log(c) => admin::log(cli.data.as_deref(), c),
        Command::Demo { dir } => demo::run(dir),
        Command::Hub(a) => net_cmd::hub(cli.data.as_deref(), a),
        Command::Invite(a) => net_cmd::invite(cli.data.as_deref(), a),
        Command::Device(c) => net_cmd::device(cli.data.as_deref(), c),
        Command::Join { invite, label } => net_cmd::join(cli.data.as_deref(), &invite, label),
        Command::Sync => net_cmd::sync(cli.data.as_deref()),
        Command::Status => net_cmd::status(cli.data.as_deref()),
        Command::Audit { file, hub_key } => admin::audit(&file, hub_key.as_deref()),
        Command::Pdf(c) => return pdf_cmd::run(c),
        Command::Bench(c) => return bench_render::run(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes.
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            let mut line = String::new();
            for c in chain {
                if !line.contains(&c) {
                    if !line.is_empty() {
                        line.push_str(": ");
                    }
                    line.push_str(&c);
                }
            }
            eprintln!("error: {line}");
            ExitCode::FAILURE
        }
    }
}
