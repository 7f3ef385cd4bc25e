//! Finding the room's hub on the local network: DNS-SD over mDNS
//! (`mdns-sd`, pure Rust, no system daemon), service [`SERVICE`]. What is
//! found is only a candidate address: the short invite code's binding
//! proof (`phonghop_core::invite`) decides which hub, if any, to trust.

use std::time::{Duration, Instant};

/// The service type a hub advertises.
pub use phonghop_core::invite::DNS_SD_SERVICE as SERVICE;

/// `host:port` of every hub that answered within `wait`, first found
/// first. Nothing found (or no multicast on this network) is an empty
/// list, not an error: the caller asks for the address instead.
pub async fn hubs(wait: Duration) -> Vec<String> {
    tokio::task::spawn_blocking(move || browse(wait))
        .await
        .unwrap_or_default()
}

fn browse(wait: Duration) -> Vec<String> {
    let Ok(daemon) = mdns_sd::ServiceDaemon::new() else {
        return Vec::new();
    };
    let mut found: Vec<String> = Vec::new();
    if let Ok(rx) = daemon.browse(SERVICE) {
        let deadline = Instant::now() + wait;
        // Once one hub answered, a short grace for others in the room.
        let mut until = deadline;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(mdns_sd::ServiceEvent::ServiceResolved(info)) => {
                    let port = info.get_port();
                    let mut v4: Vec<_> = info.get_addresses_v4().into_iter().collect();
                    v4.sort();
                    for ip in v4 {
                        let a = format!("{ip}:{port}");
                        if !found.contains(&a) {
                            found.push(a);
                        }
                    }
                    until = until.min(Instant::now() + Duration::from_millis(300));
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    let _ = daemon.shutdown();
    found
}
