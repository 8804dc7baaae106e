//! `labelled_enum!`: an enum whose variants each have one wire label, declared once. The
//! macro writes the enum, `ALL` (in declaration order), `as_str`, `parse` and `ONE_OF` (the
//! issue text that lists every label), so no list of variants is ever written twice.

/// Declares an enum with one `&'static str` label per variant:
///
/// ```
/// credentials_core::labelled_enum! {
///     /// A colour.
///     pub enum Colour { Red => "red", Green => "green" }
/// }
/// assert_eq!(Colour::parse("green"), Some(Colour::Green));
/// assert_eq!(Colour::ONE_OF, "must be one of red, green");
/// ```
#[macro_export]
macro_rules! labelled_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident => $label:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];

            /// The issue reported for an unknown label: every label, in order.
            pub const ONE_OF: &'static str =
                $crate::labelled_enum!(@join "must be one of " ; $($label),+);

            /// The wire label.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $label),+
                }
            }

            /// The variant labelled `label`, if any (exact match).
            pub fn parse(label: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == label)
            }
        }
    };
    (@join $prefix:literal ; $first:literal $(, $rest:literal)*) => {
        concat!($prefix, $first $(, ", ", $rest)*)
    };
}

#[cfg(test)]
mod tests {
    labelled_enum! {
        enum Sample { A => "a", B => "b-b" }
    }

    #[test]
    fn labels_round_trip_and_list_every_variant() {
        for v in Sample::ALL {
            assert_eq!(Sample::parse(v.as_str()), Some(*v));
        }
        assert_eq!(Sample::parse("c"), None);
        assert_eq!(Sample::ONE_OF, "must be one of a, b-b");
    }
}
