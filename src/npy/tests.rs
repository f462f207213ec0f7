use super::*;
use proptest::prelude::*;

proptest! {
    /// Headers as np.save writes them: the scan reads them, and the general parser
    /// reads the same.
    #[test]
    fn saved_dicts_read_the_same_both_ways(
        descr in "[<>|=]?[a-zA-Z][0-9]{0,3}",
        fortran_order: bool,
        shape in prop::collection::vec(0usize..1 << 40, 0..6),
    ) {
        let dims = match shape.as_slice() {
            [one] => format!("{one},"),
            more => more.iter().map(usize::to_string).collect::<Vec<_>>().join(", "),
        };
        let py_bool = if fortran_order { "True" } else { "False" };
        let text = format!("{{'descr': '{descr}', 'fortran_order': {py_bool}, 'shape': ({dims}), }}");
        let want = Fields { descr, fortran_order, shape };
        prop_assert_eq!(parse_fields_as_saved(&text), Some(want));
        prop_assert_eq!(parse_fields(&text).ok(), parse_fields_as_saved(&text));
    }

    /// Anything the scan accepts, the general parser accepts with the same fields.
    #[test]
    fn the_scan_never_accepts_what_the_parser_reads_otherwise(
        text in "\\{'descr': '[<f8\\\\' ]{0,5}', 'fortran_order': (True|False|Tru), 'shape': \\([0-9, L]{0,12}\\)(, \\}|\\}| \\}|,\\})"
    ) {
        if let Some(fields) = parse_fields_as_saved(&text) {
            prop_assert_eq!(parse_fields(&text).ok(), Some(fields), "{}", text);
        }
    }
}

#[test]
fn the_scan_leaves_anything_unusual_to_the_parser() {
    let dict = |shape: &str| format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    assert_eq!(parse_fields_as_saved(&dict("(3, 4)")).map(|f| f.shape), Some(vec![3, 4]));
    assert_eq!(parse_fields_as_saved(&dict("(7,)")).map(|f| f.shape), Some(vec![7]));
    assert_eq!(parse_fields_as_saved(&dict("()")).map(|f| f.shape), Some(vec![]));
    for odd in ["(,)", "(1,,)", "(1 ,2)", "(1,  2)", "(2L,)", "( 1,)", "(-1,)", "(99999999999999999999999,)"]
    {
        assert_eq!(parse_fields_as_saved(&dict(odd)), None, "{odd}");
    }
    for odd in [
        "{\"descr\": '<f8', 'fortran_order': False, 'shape': (1,), }",
        "{'descr': '<f\\8', 'fortran_order': False, 'shape': (1,), }",
        "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }",
        "{'fortran_order': False, 'descr': '<f8', 'shape': (1,), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,),  }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1, }",
    ] {
        assert_eq!(parse_fields_as_saved(odd), None, "{odd}");
    }
}

#[test]
fn tutorial_header_is_128_bytes_like_numpy() {
    let header = header_bytes(&Shape::tutorial(), Dtype::F8);
    assert_eq!(header.len(), 128);
    assert_eq!(&header[..8], b"\x93NUMPY\x01\x00");
    assert_eq!(header[127], b'\n');
    let text = std::str::from_utf8(&header[10..]).unwrap();
    assert!(text.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (4002, 120, 120, 3), }"));
}

#[test]
fn written_headers_parse_back() {
    for (shape, dtype) in
        [(Shape::tutorial(), Dtype::F8), (Shape(vec![7]), Dtype::U1), (Shape(vec![3, 5]), Dtype::F4)]
    {
        let bytes = header_bytes(&shape, dtype);
        assert_eq!(bytes.len() % ARRAY_ALIGN, 0);
        let header = parse_header(&bytes, bytes.len() as u64).unwrap();
        assert_eq!(header.shape, shape);
        assert_eq!(header.dtype, Some(dtype));
        assert!(!header.fortran_order);
        assert_eq!(header.data_offset, bytes.len() as u64);
        assert_eq!(header.version, (1, 0));
    }
}

fn with_dict(dict: &str) -> Vec<u8> {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&[1, 0]);
    bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    bytes
}

#[test]
fn parses_numpy_variants() {
    let b = with_dict("{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }\n");
    let h = parse_header(&b, b.len() as u64).unwrap();
    assert!(h.fortran_order);
    assert_eq!(h.descr, ">f8");
    let b = with_dict("{'descr': '<i2', 'fortran_order': False, 'shape': (0,), }\n");
    assert_eq!(parse_header(&b, b.len() as u64).unwrap().shape, Shape(vec![0]));
    let b = with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n");
    assert_eq!(parse_header(&b, b.len() as u64).unwrap().shape, Shape(vec![]));
    let b = with_dict("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2L,), }\n");
    let h = parse_header(&b, b.len() as u64).unwrap();
    assert_eq!(h.dtype, None);
    assert_eq!(h.descr, "[('a', '<f8')]");
}

#[test]
fn refuses_broken_headers_with_reasons() {
    assert!(matches!(parse_header(b"\x93NUM", 5), Err(NpyError::TooShort { .. })));
    assert!(matches!(parse_header(b"PK\x03\x04xxxxxxxx", 12), Err(NpyError::BadMagic { .. })));
    let mut b = with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n");
    b[6] = 9;
    assert!(matches!(parse_header(&b, b.len() as u64), Err(NpyError::UnsupportedVersion { .. })));
    let b = with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n");
    assert!(matches!(parse_header(&b[..30], 30), Err(NpyError::HeaderBeyondFile { .. })));
    let b = with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,) \n");
    assert!(matches!(parse_header(&b, b.len() as u64), Err(NpyError::Malformed { .. })));
    let b = with_dict("{'descr': '<f8', 'shape': (2,), }\n");
    assert!(matches!(parse_header(&b, b.len() as u64), Err(NpyError::Keys(_))));
    let b = with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n");
    assert!(matches!(parse_header(&b, b.len() as u64), Err(NpyError::ShapeOverflow(_))));
    let b = with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }\n");
    assert!(matches!(parse_header(&b, b.len() as u64), Err(NpyError::Malformed { .. })));
}
