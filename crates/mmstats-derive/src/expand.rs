//! Generating the `StatsModel` impl and the `create`/`local` functions from a [`Model`].
//!
//! The generated code names only paths under the mmstats crate (by default `::mmstats`, mostly
//! its hidden `__private` module) and fully qualified `::core` items, so it compiles in a
//! crate that shadows `std`, `core`'s prelude names (`Result`, `Ok`, `Option`, ...) or
//! declares its own `mmstats` module. Its own items and locals start with `__mmstats` or
//! `__Mmstats`, so constants or unit structs of the user's cannot turn its bindings into
//! patterns.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::attr::{Model, Stat};

/// The code `#[derive(StatsModel)]` emits for `model`.
pub(crate) fn expand(model: &Model) -> TokenStream {
    let Model {
        ident,
        name,
        prefix,
        krate,
        fields,
    } = model;
    let private = quote!(#krate::__private);

    // Each handle type is named once, in `visit`: a type that is not a handle gets one error,
    // spanned on the type, and the same code both registers the fields and sizes them.
    let mut visits = Vec::new();
    let mut bound = Vec::new();
    let mut inits = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let field_ident = &field.ident;
        let ty = &field.ty;
        match &field.stat {
            Some(stat) => {
                let decl = field_decl(stat, krate);
                let local = format_ident!("__mmstats_field{}", index);
                let field_call = quote_spanned! {ty.span()=>
                    __MmstatsVisit::field::<#ty>
                };
                visits.push(quote! { let #local = #field_call(__mmstats_visitor, #decl)?; });
                bound.push(local.clone());
                inits.push(quote! { #field_ident: #local });
            }
            None => inits.push(quote! {
                #field_ident: ::core::default::Default::default()
            }),
        }
    }
    let build = if bound.is_empty() {
        quote! { ::core::option::Option::Some(#ident { #(#inits,)* }) }
    } else {
        quote! {
            match (#(#bound,)*) {
                (#(::core::option::Option::Some(#bound),)*) => {
                    ::core::option::Option::Some(#ident { #(#inits,)* })
                }
                _ => ::core::option::Option::None,
            }
        }
    };

    let prefixed = if prefix.is_empty() {
        String::new()
    } else {
        format!(", labels prefixed with `{prefix}`")
    };
    let create_doc = format!(
        "Creates a stats file for [`{ident}`] with `options` and registers every field\
         {prefixed}. The file is removed when the instance is dropped, unless the options keep it."
    );
    let local_doc = format!(
        "The calling thread's [`{ident}`], in a file of the thread's own, created with default \
         options on the thread's first call. Cheap to call again. Never fails: if the file \
         cannot be created (an unusable stats directory), the instance records into memory \
         only and the reason goes to `mmstats::set_error_hook`'s hook (by default one line on \
         standard error, once per process)."
    );
    let try_local_doc = format!(
        "The calling thread's [`{ident}`] in a file of the thread's own, like `local()`, or \
         why the file cannot be created (a later call tries again)."
    );

    quote! {
        const _: () = {
            trait __MmstatsVisit {
                fn field<H: #private::Handle>(
                    &mut self,
                    __mmstats_decl: #private::FieldDecl,
                ) -> ::core::result::Result<::core::option::Option<H>, #krate::Error>;
            }

            struct __MmstatsRegister<'a>(&'a #private::Stats);

            impl __MmstatsVisit for __MmstatsRegister<'_> {
                fn field<H: #private::Handle>(
                    &mut self,
                    __mmstats_decl: #private::FieldDecl,
                ) -> ::core::result::Result<::core::option::Option<H>, #krate::Error> {
                    ::core::result::Result::map(
                        #private::Stats::register::<H>(self.0, __mmstats_decl),
                        ::core::option::Option::Some,
                    )
                }
            }

            struct __MmstatsRoom(#krate::Reserve);

            impl __MmstatsVisit for __MmstatsRoom {
                fn field<H: #private::Handle>(
                    &mut self,
                    __mmstats_decl: #private::FieldDecl,
                ) -> ::core::result::Result<::core::option::Option<H>, #krate::Error> {
                    #private::reserve_field::<H>(
                        &mut self.0,
                        <#ident as #krate::StatsModel>::PREFIX,
                        &__mmstats_decl,
                    );
                    ::core::result::Result::Ok(::core::option::Option::None)
                }
            }

            /// Declares every field to the visitor; the model, if the visitor made handles.
            fn __mmstats_visit<V: __MmstatsVisit>(
                __mmstats_visitor: &mut V,
            ) -> ::core::result::Result<::core::option::Option<#ident>, #krate::Error> {
                #(#visits)*
                ::core::result::Result::Ok(#build)
            }

            #[automatically_derived]
            impl #krate::StatsModel for #ident {
                const NAME: &'static str = #name;
                const PREFIX: &'static str = #prefix;

                fn register_all(
                    __mmstats_stats: &#private::Stats,
                ) -> ::core::result::Result<Self, #krate::Error> {
                    match __mmstats_visit(&mut __MmstatsRegister(__mmstats_stats))? {
                        ::core::option::Option::Some(__mmstats_model) => {
                            ::core::result::Result::Ok(__mmstats_model)
                        }
                        ::core::option::Option::None => ::core::unreachable!(),
                    }
                }

                fn reserve() -> #krate::Reserve {
                    let mut __mmstats_room = __MmstatsRoom(#krate::Reserve {
                        fields: 0,
                        strings: 0,
                        values: 0,
                    });
                    // Sizing never fails: a field its handle rejects fails registration instead.
                    let _ = __mmstats_visit(&mut __mmstats_room);
                    __mmstats_room.0
                }
            }

            #private::thread_local! {
                /// The thread's instance, shared by `local()` and `try_local()`.
                static __MMSTATS_LOCAL: #private::LocalCell<#ident> = const {
                    #private::LocalCell::new()
                };
            }

            #[automatically_derived]
            impl #ident {
                #[doc = #create_doc]
                pub fn create(
                    options: #krate::Options,
                ) -> ::core::result::Result<#krate::Instance<Self>, #krate::Error> {
                    #krate::Instance::<Self>::create(options)
                }

                #[doc = #local_doc]
                pub fn local() -> #krate::Local<Self> {
                    __MMSTATS_LOCAL.with(#private::LocalCell::get)
                }

                #[doc = #try_local_doc]
                pub fn try_local() -> ::core::result::Result<#krate::Local<Self>, #krate::Error> {
                    __MMSTATS_LOCAL.with(#private::LocalCell::try_get)
                }
            }
        };
    }
}

/// A `FieldDecl` expression for one field.
fn field_decl(stat: &Stat, krate: &syn::Path) -> TokenStream {
    let Stat {
        label,
        help,
        unit,
        combine,
        capacity,
        width,
        labels,
    } = stat;
    let (keys, values): (Vec<&String>, Vec<&String>) = labels.iter().map(|(k, v)| (k, v)).unzip();
    let combine = match combine {
        Some(rule) => {
            let variant = syn::Ident::new(&format!("{rule:?}"), proc_macro2::Span::call_site());
            quote!(::core::option::Option::Some(#krate::Combine::#variant))
        }
        None => quote!(::core::option::Option::None),
    };
    let capacity = match capacity {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let width = match width {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    quote! {
        #krate::__private::FieldDecl {
            label: ::core::convert::From::from(#label),
            help: ::core::convert::From::from(#help),
            unit: ::core::convert::From::from(#unit),
            combine: #combine,
            capacity: #capacity,
            width: #width,
            labels: ::std::vec![#((
                ::core::convert::From::from(#keys),
                ::core::convert::From::from(#values),
            )),*],
        }
    }
}
