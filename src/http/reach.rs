//! Where a phone on the home network finds the frame's page, for the welcome slide.

use std::net::{IpAddr, Ipv4Addr};

use nix::ifaddrs::getifaddrs;
use nix::net::if_::InterfaceFlags;

/// The page's address for a phone on the same network, when the endpoint listens beyond
/// loopback: `http://192.168.1.23:8080/`. `None` on loopback, and while the Pi has no address
/// on a network yet (Wi-Fi comes up after the frame at boot: ask again later).
pub fn page_url(host: IpAddr, port: u16) -> Option<String> {
    if host.is_loopback() {
        return None;
    }
    let ip = if host.is_unspecified() { lan_address()? } else { host };
    Some(match ip {
        IpAddr::V4(ip) => format!("http://{ip}:{port}/"),
        IpAddr::V6(ip) => format!("http://[{ip}]:{port}/"),
    })
}

/// The first IPv4 address of an interface that is up and not loopback, private ranges first
/// (a home network's; a VPN's or a container bridge's come after).
fn lan_address() -> Option<IpAddr> {
    let mut found: Vec<Ipv4Addr> = getifaddrs()
        .ok()?
        .filter(|i| {
            i.flags.contains(InterfaceFlags::IFF_UP)
                && !i.flags.contains(InterfaceFlags::IFF_LOOPBACK)
        })
        .filter(|i| {
            !i.interface_name.starts_with("docker") && !i.interface_name.starts_with("veth")
        })
        .filter_map(|i| i.address?.as_sockaddr_in().map(|a| a.ip()))
        .filter(|ip| !ip.is_link_local())
        .collect();
    found.sort_by_key(|ip| !ip.is_private());
    found.first().copied().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_has_no_page_address_and_a_named_host_is_its_own() {
        assert_eq!(page_url(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080), None);
        let lan = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 23));
        assert_eq!(page_url(lan, 8080).as_deref(), Some("http://192.168.1.23:8080/"));
        // Any address: an interface's, if the machine has one besides loopback.
        if let Some(url) = page_url(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 80) {
            assert!(url.starts_with("http://") && !url.contains("127.0.0.1"), "{url}");
        }
    }
}
