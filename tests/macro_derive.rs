//! `#[derive(ObjectHash)]`: names and variants frame the hash, `#[hash(skip)]` and
//! `#[hash(by = …)]` work, generics get bounds, and golden digests pin the format.

use checkpointer::{Hasher, ObjectHash};

#[derive(ObjectHash)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(ObjectHash)]
struct Pair {
    x: i32,
    y: i32,
}

#[derive(ObjectHash)]
struct Tuple(i32, i32);

#[derive(ObjectHash)]
struct Unit;

#[derive(ObjectHash)]
struct Other;

#[derive(ObjectHash)]
enum Shape {
    Circle { r: u32 },
    Square { r: u32 },
    Dot,
    Line(u32, u32),
}

#[derive(ObjectHash)]
enum Empty {}

fn bucket(x: &f64) -> i64 {
    x.round() as i64
}

#[derive(ObjectHash)]
struct Measured {
    name: String,
    #[hash(by = bucket)]
    value: f64,
    #[hash(skip)]
    #[allow(dead_code)]
    scratch: Vec<u8>,
}

#[derive(ObjectHash)]
struct Wrapper<T, const N: usize> {
    items: [T; N],
}

#[derive(ObjectHash)]
struct Borrowed<'a, T: ?Sized + ObjectHash> {
    inner: &'a T,
}

#[test]
fn type_names_frame_the_hash() {
    assert_ne!(Point { x: 1, y: 2 }.digest(), Pair { x: 1, y: 2 }.digest());
    assert_ne!(Point { x: 1, y: 2 }.digest(), Point { x: 2, y: 1 }.digest());
    assert_ne!(Point { x: 1, y: 2 }.digest(), Tuple(1, 2).digest());
    assert_ne!(Unit.digest(), Other.digest());
    assert_ne!(Tuple(1, 2).digest(), (1i32, 2i32).digest());
}

#[test]
fn variants_frame_the_hash() {
    assert_ne!(
        Shape::Circle { r: 1 }.digest(),
        Shape::Square { r: 1 }.digest()
    );
    assert_ne!(
        Shape::Circle { r: 1 }.digest(),
        Shape::Circle { r: 2 }.digest()
    );
    assert_ne!(Shape::Dot.digest(), Unit.digest());
    assert_ne!(Shape::Line(1, 2).digest(), Shape::Line(2, 1).digest());
    let _ = |e: &Empty| e.digest();
}

#[test]
fn skip_and_by() {
    let a = Measured {
        name: "a".into(),
        value: 1.2,
        scratch: vec![1],
    };
    let b = Measured {
        name: "a".into(),
        value: 0.9,
        scratch: vec![2, 3],
    };
    let c = Measured {
        name: "a".into(),
        value: 2.0,
        scratch: vec![],
    };
    assert_eq!(
        a.digest(),
        b.digest(),
        "scratch is skipped and value is bucketed"
    );
    assert_ne!(a.digest(), c.digest());
}

#[test]
fn generics() {
    assert_ne!(
        Wrapper { items: [1u8, 2] }.digest(),
        Wrapper { items: [1u16, 2] }.digest()
    );
    assert_eq!(
        Borrowed { inner: "x" }.digest(),
        Borrowed {
            inner: &String::from("x")
        }
        .digest()
    );
}

/// The derive's format, spelled out with the hasher's primitives.
#[test]
fn format_is_begin_then_named_fields() {
    let mut h = Hasher::new();
    h.begin_struct("Point", 2);
    h.write_name("x");
    1i32.object_hash(&mut h);
    h.write_name("y");
    2i32.object_hash(&mut h);
    assert_eq!(Point { x: 1, y: 2 }.digest(), h.finish());

    let mut h = Hasher::new();
    h.begin_variant("Shape", "Line", 2);
    3u32.object_hash(&mut h);
    4u32.object_hash(&mut h);
    assert_eq!(Shape::Line(3, 4).digest(), h.finish());

    let mut h = Hasher::new();
    h.begin_struct("Measured", 2);
    h.write_name("name");
    "m".object_hash(&mut h);
    h.write_name("value");
    2i64.object_hash(&mut h);
    assert_eq!(
        Measured {
            name: "m".into(),
            value: 1.7,
            scratch: vec![]
        }
        .digest(),
        h.finish()
    );
}

/// Golden digests: these must never change, or every cache keyed by a derived type is lost.
#[test]
fn golden_digests() {
    assert_eq!(Point { x: 1, y: 2 }.digest().to_hex(), GOLDEN_POINT);
    assert_eq!(Shape::Circle { r: 7 }.digest().to_hex(), GOLDEN_CIRCLE);
    assert_eq!(Unit.digest().to_hex(), GOLDEN_UNIT);
}

const GOLDEN_POINT: &str = "48f9663c623575638672be789fc7160a72dfbe2c763e84a72b88e562f99f578f";
const GOLDEN_CIRCLE: &str = "13da8da28c77af082e43246b35b2fe0c01111d83ca7a36f9b5c54c13950a9574";
const GOLDEN_UNIT: &str = "b9d32b866ac8a996dd8a75c3d4598669dd0e869c787610bcc0cafe0936428b90";
