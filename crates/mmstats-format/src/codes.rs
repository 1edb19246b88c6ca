//! The one-byte codes of the field table (FORMAT.md §3.2).

use serde::{Deserialize, Serialize};

macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $code:literal => $text:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* $variant = $code, )+
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value with this code, if the code is known.
            pub fn from_code(code: u8) -> Option<Self> {
                match code {
                    $( $code => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// The code stored in the file.
            pub fn code(self) -> u8 {
                self as u8
            }

            /// The lower-case name used in FORMAT.md, JSON and tool output.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// Parses the lower-case name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code_enum! {
    /// What a field's number means, so tools know how to show it (FORMAT.md §3.2).
    Kind {
        /// A monotonically increasing count; tools show its rate.
        Counter = 1 => "counter",
        /// A level that goes up and down; tools show its value.
        Gauge = 2 => "gauge",
        /// Set once at creation.
        Constant = 3 => "constant",
        /// UTF-8 text that changes.
        Text = 4 => "text",
        /// A point in time since the Unix epoch, in the field's unit.
        Timestamp = 5 => "timestamp",
        /// Running average: count and sum.
        Average = 6 => "average",
        /// Average of the last N recorded values.
        MovingAverage = 7 => "moving_average",
        /// Distribution in log-linear buckets.
        Histogram = 8 => "histogram",
        /// Histogram of durations in nanoseconds plus a moving average.
        Timer = 9 => "timer",
        /// Per-second slots for rates and means over a time window.
        Windowed = 10 => "windowed",
    }
}

code_enum! {
    /// How each number of a field is stored (FORMAT.md §3.2, §4.1).
    ValueType {
        /// Unsigned 8-bit integer.
        U8 = 1 => "u8",
        /// Unsigned 16-bit integer.
        U16 = 2 => "u16",
        /// Unsigned 32-bit integer.
        U32 = 3 => "u32",
        /// Unsigned 64-bit integer.
        U64 = 4 => "u64",
        /// Signed 8-bit integer.
        I8 = 5 => "i8",
        /// Signed 16-bit integer.
        I16 = 6 => "i16",
        /// Signed 32-bit integer.
        I32 = 7 => "i32",
        /// Signed 64-bit integer.
        I64 = 8 => "i64",
        /// IEEE-754 single precision.
        F32 = 9 => "f32",
        /// IEEE-754 double precision.
        F64 = 10 => "f64",
        /// Boolean.
        Bool = 11 => "bool",
        /// Fixed-capacity UTF-8 text.
        Text = 12 => "text",
    }
}

code_enum! {
    /// The default rule for combining one label across threads and processes (FORMAT.md §3.2).
    Combine {
        /// Do not combine; show each file's value.
        None = 0 => "none",
        /// Add the values (histograms bucket by bucket).
        Sum = 1 => "sum",
        /// The largest value.
        Max = 2 => "max",
        /// The smallest value.
        Min = 3 => "min",
        /// The arithmetic mean of the files' values.
        Avg = 4 => "avg",
        /// The value of the most recently created file.
        Last = 5 => "last",
    }
}

impl ValueType {
    /// Width in bits of the stored number; `None` for text.
    pub fn bits(self) -> Option<u32> {
        Some(match self {
            ValueType::U8 | ValueType::I8 => 8,
            ValueType::U16 | ValueType::I16 => 16,
            ValueType::U32 | ValueType::I32 | ValueType::F32 => 32,
            ValueType::U64 | ValueType::I64 | ValueType::F64 => 64,
            ValueType::Bool => 1,
            ValueType::Text => return None,
        })
    }

    /// True for every type but text.
    pub fn is_numeric(self) -> bool {
        self != ValueType::Text
    }

    /// True for the signed integer types.
    pub fn is_signed(self) -> bool {
        matches!(
            self,
            ValueType::I8 | ValueType::I16 | ValueType::I32 | ValueType::I64
        )
    }

    /// True for `f32` and `f64`.
    pub fn is_float(self) -> bool {
        matches!(self, ValueType::F32 | ValueType::F64)
    }
}

impl Kind {
    /// True for kinds whose value slot starts with a sequence word (FORMAT.md §4.2).
    pub fn is_multi_word(self) -> bool {
        matches!(
            self,
            Kind::Text
                | Kind::Average
                | Kind::MovingAverage
                | Kind::Histogram
                | Kind::Timer
                | Kind::Windowed
        )
    }

    /// The combine rule a writer uses when none is given (FORMAT.md §3.2).
    pub fn default_combine(self) -> Combine {
        match self {
            Kind::Counter | Kind::Gauge | Kind::Histogram | Kind::Timer | Kind::Windowed => {
                Combine::Sum
            }
            Kind::Average | Kind::MovingAverage => Combine::Avg,
            Kind::Timestamp => Combine::Max,
            Kind::Constant | Kind::Text => Combine::Last,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_code(k.code()), Some(*k));
            assert_eq!(Kind::from_name(k.as_str()), Some(*k));
        }
        for t in ValueType::ALL {
            assert_eq!(ValueType::from_code(t.code()), Some(*t));
            assert_eq!(ValueType::from_name(t.as_str()), Some(*t));
        }
        for c in Combine::ALL {
            assert_eq!(Combine::from_code(c.code()), Some(*c));
        }
        assert_eq!(Kind::from_code(0), None);
        assert_eq!(ValueType::from_code(13), None);
        assert_eq!(Combine::from_code(6), None);
    }
}
