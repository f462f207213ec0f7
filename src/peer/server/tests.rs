#![allow(clippy::unwrap_used)]

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
    use std::io::{Read, Write};
    let (a, b) = seqpacket_pair().unwrap();
    let (read_end, write_end) = pipe().unwrap();
    send_with_fds(a.as_raw_fd(), b"{\"pid\": 1}", &[write_end.as_raw_fd()]).unwrap();
    drop(write_end);
    // The receiver gets one message, whole, and a working copy of the descriptor.
    let mut buf = vec![0u8; 64];
    let mut space = vec![0u8; 64];
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: a zeroed msghdr pointed at the buffers above, which outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = space.as_mut_ptr().cast();
    msg.msg_controllen = space.len() as _;
    // SAFETY: receives into the buffers `msg` points at.
    let n = unsafe { libc::recvmsg(b.as_raw_fd(), &raw mut msg, 0) };
    assert_eq!(&buf[..n as usize], b"{\"pid\": 1}");
    // SAFETY: the control buffer holds the one header recvmsg wrote.
    let fd = unsafe {
        let header = libc::CMSG_FIRSTHDR(&raw const msg);
        assert_eq!((*header).cmsg_type, libc::SCM_RIGHTS);
        std::ptr::read_unaligned(libc::CMSG_DATA(header).cast::<RawFd>())
    };
    // SAFETY: the descriptor recvmsg just created, owned by nothing else.
    let mut copy = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    copy.write_all(b"through").unwrap();
    drop(copy);
    let mut got = String::new();
    std::fs::File::from(read_end).read_to_string(&mut got).unwrap();
    assert_eq!(got, "through");
    // Nothing more to read within the time; a closed end is an error.
    assert!(receive(b.as_raw_fd(), Duration::from_millis(1)).unwrap().is_none());
    drop(a);
    assert!(receive(b.as_raw_fd(), Duration::from_millis(100)).is_err());
}
