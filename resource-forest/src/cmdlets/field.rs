//! One property of a record a cmdlet returns: the text the Exchange
//! Management Shell prints, and the value's type, so that callers keeping
//! types (JSON output) get numbers, booleans, lists and nulls.

use crossforest_shared::proto::management::v1 as pb;

/// A property value's type and typed content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    /// Text.
    Text,
    /// A whole number.
    Integer(i64),
    /// `True` or `False`.
    Boolean(bool),
    /// A multi-valued property.
    List(Vec<String>),
    /// Unset (`$null`): Active Directory keeps no empty strings, so an empty
    /// text is unset too.
    Null,
}

/// A property value: its text as printed, and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    text: String,
    typed: Typed,
}

/// An object a cmdlet returns: (property, value) in display order.
pub type Record = Vec<(String, Field)>;

impl Field {
    /// An unset property.
    pub fn null() -> Self {
        Self {
            text: String::new(),
            typed: Typed::Null,
        }
    }

    /// The text the shell prints.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The type and typed content.
    pub fn typed(&self) -> &Typed {
        &self.typed
    }

    /// The value on the wire: text for old callers, typed for new ones.
    pub fn into_value(self) -> (String, pb::PropertyValue) {
        use pb::property_value::Kind;
        let kind = match self.typed {
            Typed::Text => Kind::Text(self.text.clone()),
            Typed::Integer(n) => Kind::Integer(n),
            Typed::Boolean(b) => Kind::Boolean(b),
            Typed::List(values) => Kind::List(pb::StringList { values }),
            Typed::Null => Kind::Null(true),
        };
        (self.text, pb::PropertyValue { kind: Some(kind) })
    }
}

impl From<String> for Field {
    fn from(text: String) -> Self {
        if text.is_empty() {
            return Self::null();
        }
        Self {
            text,
            typed: Typed::Text,
        }
    }
}

impl From<&str> for Field {
    fn from(text: &str) -> Self {
        Self::from(text.to_owned())
    }
}

impl From<&String> for Field {
    fn from(text: &String) -> Self {
        Self::from(text.clone())
    }
}

impl From<bool> for Field {
    fn from(b: bool) -> Self {
        Self {
            text: if b { "True" } else { "False" }.to_owned(),
            typed: Typed::Boolean(b),
        }
    }
}

impl From<i64> for Field {
    fn from(n: i64) -> Self {
        Self {
            text: n.to_string(),
            typed: Typed::Integer(n),
        }
    }
}

impl From<u32> for Field {
    fn from(n: u32) -> Self {
        Self::from(i64::from(n))
    }
}

impl From<usize> for Field {
    fn from(n: usize) -> Self {
        i64::try_from(n).map_or_else(|_| Self::from(n.to_string()), Self::from)
    }
}

impl From<u64> for Field {
    fn from(n: u64) -> Self {
        i64::try_from(n).map_or_else(|_| Self::from(n.to_string()), Self::from)
    }
}

/// A list prints as its values joined with `, `.
impl From<Vec<String>> for Field {
    fn from(values: Vec<String>) -> Self {
        Self {
            text: values.join(", "),
            typed: Typed::List(values),
        }
    }
}

impl<T: Into<Field>> From<Option<T>> for Field {
    fn from(value: Option<T>) -> Self {
        value.map_or_else(Self::null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::property_value::Kind;

    #[test]
    fn text_as_printed_type_as_kept() {
        let (text, typed) = Field::from(true).into_value();
        assert_eq!(
            (text.as_str(), typed.kind),
            ("True", Some(Kind::Boolean(true)))
        );
        let (text, typed) = Field::from(90_i64).into_value();
        assert_eq!((text.as_str(), typed.kind), ("90", Some(Kind::Integer(90))));
        let list = Field::from(vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(list.text(), "a, b");
        assert_eq!(list.typed(), &Typed::List(vec!["a".into(), "b".into()]));
        let (text, typed) = Field::from(String::new()).into_value();
        assert_eq!((text.as_str(), typed.kind), ("", Some(Kind::Null(true))));
        assert_eq!(Field::from(None::<String>).typed(), &Typed::Null);
        assert_eq!(Field::from("x").typed(), &Typed::Text);
    }
}
