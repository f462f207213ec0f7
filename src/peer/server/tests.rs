#![allow(clippy::unwrap_used)]

use super::wire::REQUEST_BYTES;
use super::*;

#[test]
fn a_present_page_of_this_process_is_in_its_owned_ranges_and_writable() {
    let mut heap = vec![0u8; 1 << 20];
    heap.iter_mut().step_by(4096).for_each(|b| *b = 1);
    let at = heap.as_ptr() as u64 + (1 << 19);
    let ranges = owned_ranges(std::process::id() as i32).unwrap();
    let holding = ranges.iter().find(|&&(start, len, _)| start <= at && at < start + len);
    assert!(
        matches!(holding, Some(&(_, _, true))),
        "{at:#x} not in {} ranges as private and writable",
        ranges.len()
    );
    // This function's own code is present and read-only.
    let code =
        a_present_page_of_this_process_is_in_its_owned_ranges_and_writable as *const () as usize as u64;
    assert!(ranges.iter().any(|&(start, len, write)| start <= code && code < start + len && !write));
    std::hint::black_box(&heap);
}

#[test]
fn a_request_too_large_keeps_the_largest_ranges() {
    let small = request_of(vec![(4096, 8192, true), (1 << 20, 4096, false)]);
    let json: serde_json::Value = serde_json::from_slice(&small).unwrap();
    assert_eq!(json["own"], serde_json::json!([[4096, 8192, 1], [1048576, 4096, 0]]));
    let many: Vec<(u64, u64, bool)> = (0..20_000u64).map(|i| (i << 24, 4096 + i, i % 2 == 0)).collect();
    let request = request_of(many);
    assert!(request.len() <= REQUEST_BYTES);
    let json: serde_json::Value = serde_json::from_slice(&request).unwrap();
    let kept = json["own"].as_array().unwrap();
    assert!(!kept.is_empty());
    assert_eq!(kept[0][1], 4096 + 19_999, "the largest first");
}

#[test]
fn a_message_and_its_descriptors_cross_the_socket_whole() {
    use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
    use std::io::{IoSliceMut, Read, Write};
    use std::mem::MaybeUninit;
    let (a, b) = seqpacket_pair().unwrap();
    let (read_end, write_end) = pipe().unwrap();
    send_with_fds(&a, b"{\"pid\": 1}", &[write_end.as_fd()]).unwrap();
    drop(write_end);
    // The receiver gets one message, whole, and a working copy of the descriptor.
    let mut buf = vec![0u8; 64];
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let got =
        rustix::net::recvmsg(&b, &mut [IoSliceMut::new(&mut buf)], &mut control, RecvFlags::empty()).unwrap();
    assert_eq!(&buf[..got.bytes], b"{\"pid\": 1}");
    let mut fds: Vec<OwnedFd> = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(passed) = message {
            fds.extend(passed);
        }
    }
    assert_eq!(fds.len(), 1, "one descriptor passed");
    let mut copy = std::fs::File::from(fds.remove(0));
    copy.write_all(b"through").unwrap();
    drop(copy);
    let mut got = String::new();
    std::fs::File::from(read_end).read_to_string(&mut got).unwrap();
    assert_eq!(got, "through");
    // Nothing more to read within the time; a closed end is an error.
    assert!(receive(&b, Duration::from_millis(1)).unwrap().is_none());
    drop(a);
    assert!(receive(&b, Duration::from_millis(100)).is_err());
}
