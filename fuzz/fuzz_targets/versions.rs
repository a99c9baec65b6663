//! Fuzz target `versions`: the input (lossy UTF-8) cut at newlines into three versions a, b
//! and c, compared with each ecosystem's rules (`versions::compare`). Properties (the module
//! promises total preorders): reflexivity, antisymmetry (`cmp(a, b) == cmp(b, a).reverse()`)
//! and transitivity (`a <= b && b <= c` implies `a <= c`, and the same for `==`).
#![no_main]

use std::cmp::Ordering;

use cascade::inventory::Ecosystem;
use cascade::versions::compare;
use cascade_fuzz::split_n;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = split_n(data, b'\n', 3);
    let [a, b, c] = [0, 1, 2].map(|i| String::from_utf8_lossy(parts[i]).into_owned());
    let (a, b, c) = (a.as_str(), b.as_str(), c.as_str());
    for scheme in [Ecosystem::Dpkg, Ecosystem::Apk, Ecosystem::Rpm] {
        let cmp = |x: &str, y: &str| compare(scheme, x, y);
        for x in [a, b, c] {
            assert_eq!(cmp(x, x), Ordering::Equal, "{scheme:?}: {x:?} is not equal to itself");
        }
        for (x, y) in [(a, b), (b, c), (a, c)] {
            assert_eq!(cmp(x, y), cmp(y, x).reverse(), "{scheme:?}: {x:?} vs {y:?} is not antisymmetric");
        }
        let (ab, bc, ac) = (cmp(a, b), cmp(b, c), cmp(a, c));
        if ab != Ordering::Greater && bc != Ordering::Greater {
            assert_ne!(ac, Ordering::Greater, "{scheme:?}: {a:?} <= {b:?} <= {c:?} but {a:?} > {c:?}");
        }
        if ab == Ordering::Equal && bc == Ordering::Equal {
            assert_eq!(ac, Ordering::Equal, "{scheme:?}: {a:?} == {b:?} == {c:?} but {a:?} != {c:?}");
        }
        if ab != Ordering::Less && bc != Ordering::Less {
            assert_ne!(ac, Ordering::Less, "{scheme:?}: {a:?} >= {b:?} >= {c:?} but {a:?} < {c:?}");
        }
    }
    let _ = cascade::versions::apk::is_valid(a);
    let _ = cascade::versions::rpm::vercmp(a, b);
});
