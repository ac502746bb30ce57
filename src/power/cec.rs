//! HDMI-CEC, for frames that are TVs (`[schedule] cec = true`): at off the TV is sent
//! Standby, at on Image View On and then Active Source, through the kernel's CEC API
//! (`/dev/cecN`; the Pi 4 and 5 expose one per HDMI port with the vc4 KMS driver). Cutting the
//! HDMI signal alone makes many TVs show a "no signal" box or a source menu instead of
//! sleeping.
//!
//! [`messages`] is what goes on the bus, kept pure and tested against the CEC specification
//! (HDMI 1.4b, Supplement 1: the opcodes and the header's initiator/destination nibbles).

use std::path::PathBuf;

use cec_linux::{
    Capabilities, CecDevice, CecLogAddrType, CecLogAddrs, CecLogicalAddress, CecOpcode,
    CecPrimDevType, VendorID, Version,
};

use super::Power;

/// `<Image View On>`: a TV in standby turns on and shows this source.
pub const IMAGE_VIEW_ON: u8 = 0x04;
/// `<Standby>`: the destination goes to standby.
pub const STANDBY: u8 = 0x36;
/// `<Active Source>` \[physical address\]: broadcast; the TV switches its input to us.
pub const ACTIVE_SOURCE: u8 = 0x82;
/// The TV's logical address.
pub const TV: u8 = 0x0;
/// The broadcast destination, and as initiator "unregistered".
pub const BROADCAST: u8 = 0xF;

/// One CEC message: who sends it to whom, the opcode and its operands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub from: u8,
    pub to: u8,
    pub opcode: u8,
    pub operands: Vec<u8>,
}

impl Message {
    /// The message as it goes on the wire: the header block (initiator in the high nibble,
    /// destination in the low), the opcode, the operands.
    pub fn bytes(&self) -> Vec<u8> {
        let mut bytes = vec![(self.from << 4) | (self.to & 0xF), self.opcode];
        bytes.extend_from_slice(&self.operands);
        bytes
    }
}

/// What to send to turn the TV `on` or off, from logical address `from` (15: unregistered,
/// when no address could be claimed) with physical address `physical` (e.g. 0x1000 for
/// 1.0.0.0; `None` when the adapter has none, as when the TV is unplugged).
pub fn messages(on: bool, from: u8, physical: Option<u16>) -> Vec<Message> {
    let to_tv = |opcode| Message { from, to: TV, opcode, operands: Vec::new() };
    if !on {
        return vec![to_tv(STANDBY)];
    }
    let mut sent = vec![to_tv(IMAGE_VIEW_ON)];
    // An unregistered device may not announce itself as the active source.
    if let (true, Some(physical)) = (from != BROADCAST, physical) {
        sent.push(Message {
            from,
            to: BROADCAST,
            opcode: ACTIVE_SOURCE,
            operands: physical.to_be_bytes().to_vec(),
        });
    }
    sent
}

/// A CEC adapter the frame talks to the TV through.
pub struct Cec {
    device: CecDevice,
    path: PathBuf,
    /// A logical address was asked for once already (claiming takes the bus for a while).
    claimed: bool,
}

impl std::fmt::Debug for Cec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cec").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Cec {
    /// Opens the CEC adapter of the HDMI port a screen is on (the first `/dev/cec*` with a
    /// physical address; else the first one that opens). The error says why CEC cannot be used.
    pub fn connect() -> Result<Cec, String> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir("/dev")
            .map_err(|e| format!("cannot list /dev: {e}"))?
            .flatten()
            .map(|entry| entry.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("cec"))
            })
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err("no HDMI-CEC adapter (/dev/cec*): on a Pi, CEC needs the KMS display \
                        driver (dtoverlay=vc4-kms-v3d, the default on Bookworm)"
                .into());
        }
        let mut opened = Vec::new();
        let mut refused = Vec::new();
        for path in paths {
            match CecDevice::open(&path) {
                Ok(device) => opened.push((device, path)),
                Err(e) => refused.push(format!(
                    "cannot open {}: {e} (the frame's user must be in the `video` group)",
                    path.display()
                )),
            }
        }
        let connected = opened.iter().position(|(device, _)| physical(device).is_some());
        match connected.or((!opened.is_empty()).then_some(0)) {
            Some(i) => {
                let (device, path) = opened.swap_remove(i);
                Ok(Cec { device, path, claimed: false })
            }
            None => Err(refused.join("; ")),
        }
    }

    /// Our logical address: the adapter's, else one claimed as a playback device, else 15
    /// (unregistered: the kernel still lets it send to the TV).
    fn address(&mut self) -> u8 {
        if let Some(&first) = self.addresses().first() {
            return first;
        }
        let can_claim = self
            .device
            .get_capas()
            .is_ok_and(|caps| caps.capabilities().contains(Capabilities::LOG_ADDRS));
        if can_claim && !self.claimed {
            self.claimed = true;
            let name = "Photo frame".to_string().try_into().unwrap_or_default();
            let ask = CecLogAddrs::new(
                VendorID::NONE,
                Version::V1_4,
                name,
                &[CecPrimDevType::PLAYBACK],
                &[CecLogAddrType::PLAYBACK],
            );
            if let Err(e) = self.device.set_log(ask) {
                tracing::info!("no CEC logical address on {}: {e}", self.path.display());
            }
            if let Some(&first) = self.addresses().first() {
                return first;
            }
        }
        BROADCAST
    }

    fn addresses(&self) -> Vec<u8> {
        let Ok(log) = self.device.get_log() else { return Vec::new() };
        log.addresses().iter().map(|&a| u8::from(a)).filter(|&a| a != BROADCAST).collect()
    }
}

fn physical(device: &CecDevice) -> Option<u16> {
    device.get_phys().ok().map(|p| p.to_num()).filter(|&p| p != 0xFFFF)
}

impl Power for Cec {
    fn method(&self) -> &'static str {
        "hdmi-cec"
    }

    fn note(&self) -> Option<String> {
        Some(format!("through {}", self.path.display()))
    }

    fn set(&mut self, on: bool) -> Result<(), String> {
        let from = self.address();
        for message in messages(on, from, physical(&self.device)) {
            let fail = |e: &dyn std::fmt::Display| {
                format!(
                    "the TV did not take {:02x?} through {}: {e} (is it connected, with CEC \
                     switched on in its menu? Makers call it Anynet+, Bravia Sync, SimpLink…)",
                    message.bytes(),
                    self.path.display()
                )
            };
            let opcode = CecOpcode::try_from(message.opcode).map_err(|e| fail(&e))?;
            let from = CecLogicalAddress::try_from(message.from).map_err(|e| fail(&e))?;
            let to = CecLogicalAddress::try_from(message.to).map_err(|e| fail(&e))?;
            self.device.transmit_data(from, to, opcode, &message.operands).map_err(|e| fail(&e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_is_standby_to_the_tv() {
        // Playback device 1 (logical address 4) to the TV (0): header 0x40, <Standby> 0x36.
        assert_eq!(messages(false, 4, Some(0x1000))[0].bytes(), [0x40, 0x36]);
        assert_eq!(messages(false, 4, Some(0x1000)).len(), 1);
        // Unregistered (15) may still address the TV: header 0xF0.
        assert_eq!(messages(false, BROADCAST, None)[0].bytes(), [0xF0, 0x36]);
    }

    #[test]
    fn on_is_image_view_on_then_active_source_with_the_physical_address() {
        let sent: Vec<Vec<u8>> =
            messages(true, 4, Some(0x1000)).iter().map(Message::bytes).collect();
        // <Image View On> 0x04 to the TV; <Active Source> 0x82 broadcast (0x4F) with 1.0.0.0.
        assert_eq!(sent, [vec![0x40, 0x04], vec![0x4F, 0x82, 0x10, 0x00]]);
        // The second HDMI port of a Pi behind an AV receiver: 2.1.0.0.
        assert_eq!(messages(true, 8, Some(0x2100))[1].bytes(), [0x8F, 0x82, 0x21, 0x00]);
        // Without an address of our own, or a physical one, only <Image View On>.
        assert_eq!(messages(true, BROADCAST, Some(0x1000)).len(), 1);
        assert_eq!(messages(true, 4, None).len(), 1);
    }

    #[test]
    fn the_opcodes_are_the_ones_the_cec_crate_sends() {
        for opcode in [IMAGE_VIEW_ON, STANDBY, ACTIVE_SOURCE] {
            let named = CecOpcode::try_from(opcode).unwrap();
            assert_eq!(u8::from(named), opcode);
        }
        assert_eq!(CecOpcode::try_from(STANDBY).unwrap(), CecOpcode::Standby);
        assert_eq!(CecOpcode::try_from(IMAGE_VIEW_ON).unwrap(), CecOpcode::ImageViewOn);
        assert_eq!(CecOpcode::try_from(ACTIVE_SOURCE).unwrap(), CecOpcode::ActiveSource);
    }
}
