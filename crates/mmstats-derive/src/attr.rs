//! Reading a `#[derive(StatsModel)]` input and its `#[stats(...)]` and `#[stat(...)]` attributes
//! into a checked [`Model`].
//!
//! Every problem becomes a `syn::Error` spanned on the offending tokens; problems are collected
//! rather than returned at the first one, so a user sees all of them in one build.

use std::collections::HashMap;

use mmstats_format::layout::limits;
use mmstats_format::strings::{self, StringError};
use mmstats_format::{Combine, truncate_utf8};
use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Data, DeriveInput, Expr, ExprLit, Fields, Ident, Lit, LitInt, LitStr, Type};

/// A struct that derives `Stats`, with every attribute resolved and checked.
pub(crate) struct Model {
    /// The struct's name.
    pub(crate) ident: Ident,
    /// `StatsModel::NAME`: `#[stats(name)]` or the struct's name in snake case.
    pub(crate) name: String,
    /// `StatsModel::PREFIX`: `#[stats(prefix)]` or empty.
    pub(crate) prefix: String,
    /// Path of the `mmstats` crate: `#[stats(crate)]` or `::mmstats`.
    pub(crate) krate: syn::Path,
    /// The fields, in declaration order.
    pub(crate) fields: Vec<Field>,
}

/// One field of the struct.
pub(crate) struct Field {
    /// The field's name.
    pub(crate) ident: Ident,
    /// The field's type: a handle type, unless skipped.
    pub(crate) ty: Type,
    /// What to register; `None` for a `#[stat(skip)]` field, which is `Default::default()`.
    pub(crate) stat: Option<Stat>,
}

/// The declaration of one registered field (what becomes its `FieldDecl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stat {
    /// The label: `label = "..."` or the field's name.
    pub(crate) label: String,
    /// The help text: `help = "..."`, else the field's doc comment, else empty.
    pub(crate) help: String,
    /// The unit, or empty.
    pub(crate) unit: String,
    /// The combine rule, or `None` for the handle kind's default.
    pub(crate) combine: Option<Combine>,
    /// `window = N` or `capacity = N`.
    pub(crate) capacity: Option<u32>,
    /// `width = N`: a windowed field's slot width in seconds.
    pub(crate) width: Option<u16>,
    /// `labels(key = "value", ...)`: the field's label set (FORMAT.md §3.5), as written.
    pub(crate) labels: Vec<(String, String)>,
}

/// The keys `#[stats(...)]` accepts.
const STRUCT_KEYS: &str = "`prefix`, `name`, `crate`";
/// The keys `#[stat(...)]` accepts.
const FIELD_KEYS: &str =
    "`label`, `help`, `unit`, `combine`, `window`, `capacity`, `width`, `labels`, `skip`";

/// Errors collected while reading the input.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn finish<T>(self, value: T) -> syn::Result<T> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }
}

/// Reads and checks the input of `#[derive(StatsModel)]`.
pub(crate) fn parse(input: &DeriveInput) -> syn::Result<Model> {
    let mut errors = Errors::default();

    let mut prefix: Option<LitStr> = None;
    let mut name: Option<LitStr> = None;
    let mut krate: Option<syn::Path> = None;
    for attr in &input.attrs {
        if attr.path().is_ident("stat") {
            errors.push(syn::Error::new_spanned(
                attr,
                "`#[stat(...)]` belongs on fields; use `#[stats(...)]` on the struct",
            ));
        }
        if !attr.path().is_ident("stats") {
            continue;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("prefix") {
                if let Some(lit) = string_value(&meta, "prefix", &mut errors)? {
                    set_once(&mut prefix, lit, &meta, "prefix", &mut errors);
                }
            } else if meta.path.is_ident("name") {
                if let Some(lit) = string_value(&meta, "name", &mut errors)? {
                    set_once(&mut name, lit, &meta, "name", &mut errors);
                }
            } else if meta.path.is_ident("crate") {
                if let Some(lit) = string_value(&meta, "crate", &mut errors)? {
                    match lit.parse::<syn::Path>() {
                        Ok(path) => set_once(&mut krate, path, &meta, "crate", &mut errors),
                        Err(_) => errors.push(syn::Error::new_spanned(
                            &lit,
                            "`crate` expects the path of the mmstats crate, e.g. `crate = \"::mmstats\"`",
                        )),
                    }
                }
            } else {
                unknown_key(&meta, "stats", STRUCT_KEYS, &mut errors)?;
            }
            Ok(())
        });
        if let Err(e) = parsed {
            errors.push(e);
        }
    }

    let prefix_text = prefix.as_ref().map(LitStr::value).unwrap_or_default();
    if let Some(lit) = &prefix
        && strings::check_prefix(&prefix_text).is_err()
    {
        errors.push(syn::Error::new_spanned(
            lit,
            "the prefix must not contain whitespace",
        ));
    }
    let name_text = match &name {
        Some(lit) => {
            let text = lit.value();
            if text.is_empty() || text.contains(['/', '\0']) || text.contains(char::is_whitespace) {
                errors.push(syn::Error::new_spanned(
                    lit,
                    "the name goes into file names: it must be non-empty, without `/`, NUL or whitespace",
                ));
            }
            text
        }
        None => snake_case(&input.ident.unraw().to_string()),
    };

    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &input.generics,
            "`#[derive(StatsModel)]` does not support generic structs: the model's fields and labels must be fixed",
        ));
    }

    let mut fields = Vec::new();
    match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => {
                for field in &named.named {
                    if let Some(ident) = &field.ident {
                        fields.push(parse_field(ident, field, &mut errors));
                    }
                }
            }
            Fields::Unnamed(unnamed) => errors.push(syn::Error::new_spanned(
                unnamed,
                "`#[derive(StatsModel)]` does not support tuple structs: each field's name is its default label",
            )),
            Fields::Unit => {}
        },
        Data::Enum(data) => errors.push(syn::Error::new_spanned(
            data.enum_token,
            "`#[derive(StatsModel)]` needs a struct with named fields; enums are not supported",
        )),
        Data::Union(data) => errors.push(syn::Error::new_spanned(
            data.union_token,
            "`#[derive(StatsModel)]` needs a struct with named fields; unions are not supported",
        )),
    }

    check_labels(&fields, &prefix_text, &mut errors);

    errors.finish(Model {
        ident: input.ident.clone(),
        name: name_text,
        prefix: prefix_text,
        krate: krate.unwrap_or_else(|| syn::parse_quote!(::mmstats)),
        fields: fields.into_iter().map(|(field, _)| field).collect(),
    })
}

/// Reads one field's attributes. Returns the field and the span to blame for its label.
fn parse_field(ident: &Ident, field: &syn::Field, errors: &mut Errors) -> (Field, Span) {
    let mut label: Option<LitStr> = None;
    let mut help: Option<LitStr> = None;
    let mut unit: Option<LitStr> = None;
    let mut combine: Option<(Combine, LitStr)> = None;
    let mut window: Option<(u32, LitInt)> = None;
    let mut capacity: Option<(u32, LitInt)> = None;
    let mut width: Option<(u32, LitInt)> = None;
    let mut skip: Option<syn::Path> = None;
    let mut labels: Vec<(String, String)> = Vec::new();
    let mut others: Vec<syn::Path> = Vec::new();

    for attr in &field.attrs {
        if attr.path().is_ident("stats") {
            errors.push(syn::Error::new_spanned(
                attr,
                "`#[stats(...)]` belongs on the struct; use `#[stat(...)]` on fields",
            ));
        }
        if !attr.path().is_ident("stat") {
            continue;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            let key = meta.path.clone();
            if meta.path.is_ident("label") {
                if let Some(lit) = string_value(&meta, "label", errors)? {
                    set_once(&mut label, lit, &meta, "label", errors);
                }
            } else if meta.path.is_ident("help") {
                if let Some(lit) = string_value(&meta, "help", errors)? {
                    set_once(&mut help, lit, &meta, "help", errors);
                }
            } else if meta.path.is_ident("unit") {
                if let Some(lit) = string_value(&meta, "unit", errors)? {
                    set_once(&mut unit, lit, &meta, "unit", errors);
                }
            } else if meta.path.is_ident("combine") {
                if let Some(lit) = string_value(&meta, "combine", errors)? {
                    match Combine::from_name(&lit.value()) {
                        Some(rule) => set_once(&mut combine, (rule, lit), &meta, "combine", errors),
                        None => errors.push(syn::Error::new_spanned(
                            &lit,
                            format!(
                                "unknown combine rule `{}`; expected one of {}",
                                lit.value(),
                                combine_names()
                            ),
                        )),
                    }
                }
            } else if meta.path.is_ident("window") || meta.path.is_ident("capacity") {
                let (key, this, other) = if meta.path.is_ident("window") {
                    ("window", &mut window, &capacity)
                } else {
                    ("capacity", &mut capacity, &window)
                };
                if let Some(n) = count_value(&meta, key, errors)? {
                    if other.is_some() {
                        errors.push(syn::Error::new_spanned(
                            &meta.path,
                            "`window` and `capacity` both set the field's size; use only one",
                        ));
                    }
                    set_once(this, n, &meta, key, errors);
                }
            } else if meta.path.is_ident("width") {
                if let Some((n, lit)) = count_value(&meta, "width", errors)? {
                    let max = u32::from(mmstats_format::layout::limits::SLOT_SECONDS_MAX);
                    if n > max {
                        errors.push(syn::Error::new_spanned(
                            &lit,
                            format!("`width` is a slot's seconds, from 1 to {max}"),
                        ));
                    } else {
                        set_once(&mut width, (n, lit), &meta, "width", errors);
                    }
                }
            } else if meta.path.is_ident("labels") {
                meta.parse_nested_meta(|pair| {
                    let key = path_text(&pair.path);
                    let Some(lit) = string_value(&pair, &key, errors)? else {
                        return Ok(());
                    };
                    if !mmstats_format::labels::valid_key(&key) {
                        errors.push(syn::Error::new_spanned(
                            &pair.path,
                            format!(
                                "label key `{key}` must match [A-Za-z_][A-Za-z0-9_]* and not \
                                 start with `__`"
                            ),
                        ));
                    } else if labels.iter().any(|(k, _)| *k == key) {
                        errors.push(syn::Error::new_spanned(
                            &pair.path,
                            format!("duplicate label key `{key}`"),
                        ));
                    } else {
                        labels.push((key, lit.value()));
                    }
                    Ok(())
                })?;
            } else if meta.path.is_ident("skip") {
                if meta.input.peek(syn::Token![=]) {
                    let value = meta.value()?.parse::<Expr>()?;
                    errors.push(syn::Error::new_spanned(
                        value,
                        "`skip` takes no value: write `#[stat(skip)]`",
                    ));
                } else if skip.is_some() {
                    errors.push(meta.error("duplicate `skip`"));
                } else {
                    skip = Some(meta.path.clone());
                }
                return Ok(());
            } else {
                unknown_key(&meta, "stat", FIELD_KEYS, errors)?;
                return Ok(());
            }
            others.push(key);
            Ok(())
        });
        if let Err(e) = parsed {
            errors.push(e);
        }
    }

    if skip.is_some() {
        for other in &others {
            errors.push(syn::Error::new_spanned(
                other,
                format!(
                    "`{}` has no effect on a `skip` field, which is not registered",
                    path_text(other)
                ),
            ));
        }
    }

    // An explicit help text that is too long is an error; a long doc comment is cut short.
    let help_text = match &help {
        Some(lit) => {
            let text = lit.value();
            if let Err(e) = strings::check_help(&text) {
                errors.push(syn::Error::new_spanned(lit, e.to_string()));
            }
            text
        }
        None => truncate_utf8(&doc_help(&field.attrs), limits::HELP_MAX).to_owned(),
    };
    let unit_text = unit.as_ref().map(LitStr::value).unwrap_or_default();
    if let Some(lit) = &unit
        && let Err(e) = strings::check_unit(&unit_text)
    {
        errors.push(syn::Error::new_spanned(lit, e.to_string()));
    }

    let label_span = label.as_ref().map_or_else(|| ident.span(), LitStr::span);
    let stat = Stat {
        label: label
            .as_ref()
            .map_or_else(|| ident.unraw().to_string(), LitStr::value),
        help: help_text,
        unit: unit_text,
        combine: combine.map(|(rule, _)| rule),
        capacity: window.or(capacity).map(|(n, _)| n),
        width: width.map(|(n, _)| n as u16),
        labels,
    };
    let field = Field {
        ident: ident.clone(),
        ty: field.ty.clone(),
        stat: if skip.is_some() { None } else { Some(stat) },
    };
    (field, label_span)
}

/// Checks labels (after defaulting to field names) with the writer's own check
/// ([`mmstats_format::strings`]) of the label the writer will register, prefix and label set
/// included, and that they are unique.
fn check_labels(fields: &[(Field, Span)], prefix: &str, errors: &mut Errors) {
    let mut seen: HashMap<String, &Ident> = HashMap::new();
    for (field, span) in fields {
        let Some(stat) = &field.stat else { continue };
        let label = stat.label.as_str();
        // Series are told apart by name and label set (FORMAT.md §3.5).
        let mut pairs = stat.labels.clone();
        mmstats_format::labels::sort(&mut pairs);
        let key = mmstats_format::labels::series_key(label, &pairs);
        let checked = strings::check_name(&format!("{prefix}{label}"))
            .and_then(|()| strings::check_length(prefix.len() + key.len()));
        match checked {
            Ok(()) => {}
            Err(StringError::EmptyLabel) => {
                errors.push(syn::Error::new(*span, "a label must not be empty"));
                continue;
            }
            Err(StringError::LabelTooLong { len, max }) => errors.push(syn::Error::new(
                *span,
                format!("the label with its prefix is {len} bytes; at most {max} are allowed"),
            )),
            // A prefix with whitespace is reported at the prefix.
            Err(StringError::Whitespace) if strings::check_prefix(prefix).is_err() => {}
            Err(e) => errors.push(syn::Error::new(*span, format!("the label `{label}` {e}"))),
        }
        if let Some(first) = seen.get(&key) {
            errors.push(syn::Error::new(
                *span,
                format!("duplicate label `{key}`: field `{first}` has it too"),
            ));
        } else {
            seen.insert(key, &field.ident);
        }
    }
}

/// Parses `key = "string"`. A value of the wrong type is recorded and yields `None`.
fn string_value(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    errors: &mut Errors,
) -> syn::Result<Option<LitStr>> {
    match literal(meta, key)? {
        Lit::Str(lit) => Ok(Some(lit)),
        other => {
            errors.push(syn::Error::new_spanned(
                other,
                format!("`{key}` expects a string, e.g. `{key} = \"...\"`"),
            ));
            Ok(None)
        }
    }
}

/// Parses `key = N` with `1 <= N <= u32::MAX`. A bad value is recorded and yields `None`.
fn count_value(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    errors: &mut Errors,
) -> syn::Result<Option<(u32, LitInt)>> {
    let lit = match literal(meta, key)? {
        Lit::Int(lit) => lit,
        other => {
            errors.push(syn::Error::new_spanned(
                other,
                format!("`{key}` expects a whole number, e.g. `{key} = 100`"),
            ));
            return Ok(None);
        }
    };
    match lit.base10_parse::<u32>() {
        Ok(0) => errors.push(syn::Error::new_spanned(
            &lit,
            format!("`{key}` must be at least 1"),
        )),
        Ok(n) => return Ok(Some((n, lit))),
        Err(_) => errors.push(syn::Error::new_spanned(
            &lit,
            format!("`{key}` must be a whole number from 1 to {}", u32::MAX),
        )),
    }
    Ok(None)
}

/// Parses `= <literal>` after a key.
fn literal(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<Lit> {
    if !meta.input.peek(syn::Token![=]) {
        return Err(meta.error(format!("`{key}` needs a value: `{key} = ...`")));
    }
    let expr: Expr = meta.value()?.parse()?;
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => Ok(lit),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` expects a literal"),
        )),
    }
}

/// Records an unknown key and skips its value, if any, so later keys are still checked.
fn unknown_key(
    meta: &ParseNestedMeta<'_>,
    attr: &str,
    expected: &str,
    errors: &mut Errors,
) -> syn::Result<()> {
    errors.push(syn::Error::new_spanned(
        &meta.path,
        format!(
            "unknown `{attr}` option `{}`; expected one of {expected}",
            path_text(&meta.path)
        ),
    ));
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|nested| {
            if nested.input.peek(syn::Token![=]) {
                nested.value()?.parse::<Expr>()?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Stores a key's value, or records a duplicate.
fn set_once<T>(
    slot: &mut Option<T>,
    value: T,
    meta: &ParseNestedMeta<'_>,
    key: &str,
    errors: &mut Errors,
) {
    if slot.is_some() {
        errors.push(syn::Error::new_spanned(
            &meta.path,
            format!("duplicate `{key}`"),
        ));
    } else {
        *slot = Some(value);
    }
}

/// The first paragraph of a doc comment, its lines trimmed and joined with spaces.
fn doc_help(attrs: &[Attribute]) -> String {
    // Each `///` line is its own `#[doc = "..."]`; a blank `///` line is an empty one.
    let mut text = String::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) = &nv.value
        {
            text.push_str(&lit.value());
            text.push('\n');
        }
    }
    text.lines()
        .map(str::trim)
        .skip_while(|line| line.is_empty())
        .take_while(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `WebStats` to `web_stats`, `HTTPStats` to `http_stats`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None | Some('_') => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) => p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()),
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The names `combine` accepts.
fn combine_names() -> String {
    Combine::ALL
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A path as written, for messages.
fn path_text(path: &syn::Path) -> String {
    quote::quote!(#path).to_string().replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(src: &str) -> syn::Result<Model> {
        parse(&syn::parse_str::<DeriveInput>(src).expect("test input is Rust"))
    }

    fn model(src: &str) -> Model {
        match parse_str(src) {
            Ok(model) => model,
            Err(e) => panic!("unexpected errors: {:?}", messages_of(e)),
        }
    }

    fn messages_of(error: syn::Error) -> Vec<String> {
        error.into_iter().map(|e| e.to_string()).collect()
    }

    fn messages(src: &str) -> Vec<String> {
        match parse_str(src) {
            Ok(_) => panic!("expected errors for {src}"),
            Err(e) => messages_of(e),
        }
    }

    fn stat(model: &Model, index: usize) -> &Stat {
        model.fields[index].stat.as_ref().expect("registered field")
    }

    #[test]
    fn defaults_come_from_the_struct() {
        let m = model("struct WebStats { hits: Counter, r#type: Counter }");
        assert_eq!(m.ident, "WebStats");
        assert_eq!(m.name, "web_stats");
        assert_eq!(m.prefix, "");
        let krate = &m.krate;
        assert_eq!(quote::quote!(#krate).to_string(), ":: mmstats");
        assert_eq!(
            *stat(&m, 0),
            Stat {
                label: "hits".into(),
                help: String::new(),
                unit: String::new(),
                combine: None,
                capacity: None,
                width: None,
                labels: Vec::new(),
            }
        );
        assert_eq!(stat(&m, 1).label, "type");
    }

    #[test]
    fn struct_options() {
        let m = model(
            r#"#[stats(prefix = "web.stats.", name = "web", crate = "crate::m")]
            struct S { a: Counter }"#,
        );
        assert_eq!(m.prefix, "web.stats.");
        assert_eq!(m.name, "web");
        let krate = &m.krate;
        assert_eq!(quote::quote!(#krate).to_string(), "crate :: m");
    }

    #[test]
    fn labels_are_pairs_with_valid_unique_keys() {
        let m = model(
            r#"struct S {
                #[stat(label = "requests", labels(method = "GET", code = "200"))]
                get: Counter,
            }"#,
        );
        assert_eq!(
            stat(&m, 0).labels,
            [
                ("method".to_string(), "GET".to_string()),
                ("code".into(), "200".into())
            ]
        );
        let errors = messages(
            r#"struct S {
                #[stat(labels(__x = "a"))] a: Counter,
                #[stat(labels(k = "a", k = "b"))] b: Counter,
                #[stat(labels(k = 1))] c: Counter,
            }"#,
        );
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("label key"), "{errors:?}");
        assert!(errors[1].contains("duplicate label key"), "{errors:?}");
    }

    #[test]
    fn width_is_a_windowed_slot_in_seconds() {
        let m = model(
            r#"struct S {
                #[stat(capacity = 60, width = 60)]
                hourly: Windowed<u64>,
                minutely: Windowed<u64>,
            }"#,
        );
        assert_eq!(
            (stat(&m, 0).capacity, stat(&m, 0).width),
            (Some(60), Some(60))
        );
        assert_eq!(stat(&m, 1).width, None);
        let errors = messages(
            r#"struct S {
                #[stat(width = 0)] a: Windowed<u64>,
                #[stat(width = 3601)] b: Windowed<u64>,
                #[stat(width = "60")] c: Windowed<u64>,
                #[stat(width = 1, width = 2)] d: Windowed<u64>,
            }"#,
        );
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].contains("at least 1"), "{errors:?}");
        assert!(errors[1].contains("from 1 to 3600"), "{errors:?}");
        assert!(errors[2].contains("whole number"), "{errors:?}");
        assert!(errors[3].contains("width"), "{errors:?}");
    }

    #[test]
    fn struct_options_may_be_split() {
        let m = model(r#"#[stats(prefix = "p.")] #[stats(name = "n")] struct S {}"#);
        assert_eq!((m.prefix.as_str(), m.name.as_str()), ("p.", "n"));
        assert!(m.fields.is_empty());
    }

    #[test]
    fn field_options() {
        let m = model(
            r#"struct S {
                #[stat(label = "status.2XX", help = "2xx responses", unit = "requests")]
                a: Counter,
                #[stat(combine = "max", window = 100)]
                b: Timer,
                #[stat(capacity = 64)]
                #[stat(combine = "none")]
                c: Text,
                #[stat(skip)]
                d: u8,
            }"#,
        );
        assert_eq!(
            *stat(&m, 0),
            Stat {
                label: "status.2XX".into(),
                help: "2xx responses".into(),
                unit: "requests".into(),
                combine: None,
                capacity: None,
                width: None,
                labels: Vec::new(),
            }
        );
        assert_eq!(stat(&m, 1).label, "b");
        assert_eq!(stat(&m, 1).combine, Some(Combine::Max));
        assert_eq!(stat(&m, 1).capacity, Some(100));
        assert_eq!(stat(&m, 2).capacity, Some(64));
        assert_eq!(stat(&m, 2).combine, Some(Combine::None));
        assert!(m.fields[3].stat.is_none());
        assert_eq!(m.fields[3].ident, "d");
    }

    #[test]
    fn every_combine_name_is_accepted() {
        for rule in Combine::ALL {
            let src = format!("struct S {{ #[stat(combine = \"{rule}\")] a: Counter }}");
            assert_eq!(stat(&model(&src), 0).combine, Some(*rule));
        }
    }

    #[test]
    fn doc_comments_become_help() {
        let m = model(
            r#"struct S {
                /// Requests served,
                ///   counted once each.
                ///
                /// Not part of the help.
                a: Counter,
                /// Overridden.
                #[stat(help = "explicit")]
                b: Counter,
                #[doc = "From a doc attribute."]
                c: Counter,
            }"#,
        );
        assert_eq!(stat(&m, 0).help, "Requests served, counted once each.");
        assert_eq!(stat(&m, 1).help, "explicit");
        assert_eq!(stat(&m, 2).help, "From a doc attribute.");
    }

    #[test]
    fn snake_case_names() {
        for (from, to) in [
            ("WebStats", "web_stats"),
            ("HTTPStats", "http_stats"),
            ("HttpServer2Stats", "http_server2_stats"),
            ("Stats", "stats"),
            ("already_snake", "already_snake"),
            ("IOStats_V2", "io_stats_v2"),
        ] {
            assert_eq!(snake_case(from), to, "{from}");
        }
    }

    #[test]
    fn unknown_options_are_all_reported() {
        let errors = messages(
            r#"#[stats(prefx = "a", name = "n", colour)]
            struct S {
                #[stat(lable = "x", help = "h", nested(a = 1))]
                a: Counter,
            }"#,
        );
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(
            errors[0].contains("unknown `stats` option `prefx`"),
            "{errors:?}"
        );
        assert!(
            errors[1].contains("unknown `stats` option `colour`"),
            "{errors:?}"
        );
        assert!(
            errors[2].contains("unknown `stat` option `lable`"),
            "{errors:?}"
        );
        assert!(
            errors[3].contains("unknown `stat` option `nested`"),
            "{errors:?}"
        );
    }

    #[test]
    fn wrong_literal_types() {
        let errors = messages(
            r#"#[stats(prefix = 1, name = true, crate = "not a path")]
            struct S {
                #[stat(label = 5, help = 'h', unit = 1.5, combine = sum)]
                a: Counter,
                #[stat(window = "10")]
                b: Counter,
                #[stat(capacity = 1.0)]
                c: Counter,
                #[stat(skip = true)]
                d: Counter,
                #[stat(label)]
                e: Counter,
            }"#,
        );
        let expected = [
            "`prefix` expects a string",
            "`name` expects a string",
            "`crate` expects the path",
            "`label` expects a string",
            "`help` expects a string",
            "`unit` expects a string",
            "`combine` expects a literal",
            "`window` expects a whole number",
            "`capacity` expects a whole number",
            "`skip` takes no value",
            "`label` needs a value",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:?}");
        for (error, want) in errors.iter().zip(expected) {
            assert!(error.contains(want), "{error:?} should contain {want:?}");
        }
    }

    #[test]
    fn counts_must_be_positive_u32() {
        let errors = messages(
            "struct S { #[stat(window = 0)] a: Counter, #[stat(capacity = 4294967296)] b: Text }",
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("`window` must be at least 1"));
        assert!(errors[1].contains("from 1 to 4294967295"));
        let m = model("struct S { #[stat(capacity = 4294967295)] b: Text }");
        assert_eq!(stat(&m, 0).capacity, Some(u32::MAX));
    }

    #[test]
    fn bad_labels() {
        let errors = messages(
            r#"struct S {
                hits: Counter,
                #[stat(label = "hits")]
                again: Counter,
                #[stat(label = "")]
                empty: Counter,
                #[stat(label = "two words")]
                spaced: Counter,
                #[stat(label = "tab\there")]
                tabbed: Counter,
            }"#,
        );
        assert_eq!(
            errors,
            [
                "duplicate label `hits`: field `hits` has it too",
                "a label must not be empty",
                "the label `two words` contains whitespace; labels are dotted names",
                "the label `tab\there` contains whitespace; labels are dotted names",
            ]
        );
    }

    #[test]
    fn a_skipped_field_frees_its_label() {
        let m = model(r#"struct S { #[stat(skip)] hits: u8, #[stat(label = "hits")] b: Counter }"#);
        assert_eq!(stat(&m, 1).label, "hits");
    }

    #[test]
    fn labels_must_fit_the_format_with_the_prefix() {
        let long = "a".repeat(limits::LABEL_MAX - 2);
        let ok = format!(
            r#"#[stats(prefix = "p.")] struct S {{ #[stat(label = "{long}")] a: Counter }}"#
        );
        assert_eq!(stat(&model(&ok), 0).label, long);
        let too_long = ok.replace("p.", "pp.");
        assert!(messages(&too_long)[0].contains("at most 1024"));
    }

    #[test]
    fn long_help_and_unit_are_rejected() {
        let help = "h".repeat(limits::HELP_MAX + 1);
        let unit = "u".repeat(limits::UNIT_MAX + 1);
        let src = format!(
            r#"struct S {{ #[stat(help = "{help}")] a: Counter, #[stat(unit = "{unit}")] b: Counter,
               #[stat(unit = "per second")] c: Counter }}"#
        );
        let errors = messages(&src);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("help text is 4097 bytes"));
        assert!(errors[1].contains("unit is longer than 64 bytes"));
        assert!(errors[2].contains("a unit is one word"));
    }

    #[test]
    fn long_doc_comments_are_cut_on_a_character_boundary() {
        // One ASCII byte, then two-byte characters: the limit falls inside a character.
        let doc = format!("a{}", "é".repeat(limits::HELP_MAX));
        let m = model(&format!("struct S {{ #[doc = \"{doc}\"] a: Counter }}"));
        let help = &stat(&m, 0).help;
        assert_eq!(help.len(), limits::HELP_MAX - 1);
        assert!(help.starts_with("aé") && help.ends_with('é'));
    }

    #[test]
    fn unknown_combine_rule() {
        let errors = messages(r#"struct S { #[stat(combine = "total")] a: Counter }"#);
        assert_eq!(
            errors,
            [
                "unknown combine rule `total`; expected one of `none`, `sum`, `max`, `min`, `avg`, `last`"
            ]
        );
    }

    #[test]
    fn window_with_capacity() {
        for src in [
            "struct S { #[stat(window = 1, capacity = 2)] a: Text }",
            "struct S { #[stat(capacity = 2)] #[stat(window = 1)] a: Text }",
        ] {
            assert_eq!(
                messages(src),
                ["`window` and `capacity` both set the field's size; use only one"]
            );
        }
    }

    #[test]
    fn duplicate_options() {
        let errors = messages(
            r#"#[stats(name = "a", name = "b")]
            struct S { #[stat(help = "a")] #[stat(help = "b", skip, skip)] a: Counter }"#,
        );
        assert_eq!(
            errors,
            [
                "duplicate `name`",
                "duplicate `help`",
                "duplicate `skip`",
                "`help` has no effect on a `skip` field, which is not registered",
                "`help` has no effect on a `skip` field, which is not registered",
            ]
        );
    }

    #[test]
    fn bad_prefix_and_name() {
        let errors = messages(r#"#[stats(prefix = "a b", name = "x/y")] struct S {}"#);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("prefix must not contain whitespace"));
        assert!(errors[1].contains("the name goes into file names"));
        assert!(messages(r#"#[stats(name = "")] struct S {}"#)[0].contains("non-empty"));
    }

    #[test]
    fn only_plain_structs_with_named_fields() {
        assert_eq!(
            messages("enum E { A }"),
            ["`#[derive(StatsModel)]` needs a struct with named fields; enums are not supported"]
        );
        assert_eq!(
            messages("union U { a: u8 }"),
            ["`#[derive(StatsModel)]` needs a struct with named fields; unions are not supported"]
        );
        assert!(messages("struct T(Counter);")[0].contains("does not support tuple structs"));
        assert!(messages("struct G<T> { a: T }")[0].contains("does not support generic structs"));
        assert!(messages("struct L<'a> { a: &'a Counter }")[0].contains("generic"));
        assert!(model("struct Unit;").fields.is_empty());
    }

    #[test]
    fn attributes_in_the_wrong_place() {
        let errors =
            messages(r#"#[stat(label = "x")] struct S { #[stats(prefix = "p")] a: Counter }"#);
        assert_eq!(
            errors,
            [
                "`#[stat(...)]` belongs on fields; use `#[stats(...)]` on the struct",
                "`#[stats(...)]` belongs on the struct; use `#[stat(...)]` on fields",
            ]
        );
    }

    #[test]
    fn several_problems_at_once() {
        let errors = messages(
            r#"#[stats(prefx = "a")]
            struct S { #[stat(combine = "x")] a: Counter, #[stat(label = "a")] b: Counter }"#,
        );
        assert_eq!(errors.len(), 3, "{errors:?}");
    }
}
