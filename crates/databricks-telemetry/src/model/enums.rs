//! The enums of `sql_driver_log`, written on the wire by their names.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Declares a wire enum: serde names, `as_str`, `ALL` and `Display`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $wire)]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name written on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// The protocol a connection uses (`DriverMode`).
    DriverMode {
        /// Not known.
        #[default]
        TypeUnspecified => "TYPE_UNSPECIFIED",
        /// The Thrift (HiveServer2) protocol.
        Thrift => "THRIFT",
        /// The SQL Execution API.
        Sea => "SEA",
    }
}

wire_enum! {
    /// The kind of statement (`StatementType`).
    StatementType {
        /// Not known.
        #[default]
        TypeUnspecified => "TYPE_UNSPECIFIED",
        /// A query returning rows.
        Query => "QUERY",
        /// Other SQL.
        Sql => "SQL",
        /// An update (DML).
        Update => "UPDATE",
        /// A metadata call (`LIST_*`).
        Metadata => "METADATA",
        /// A Unity Catalog volume operation.
        Volume => "VOLUME",
    }
}

wire_enum! {
    /// The driver operation an event reports (`OperationType`).
    OperationType {
        /// Not known.
        #[default]
        TypeUnspecified => "TYPE_UNSPECIFIED",
        /// A connection was opened.
        CreateSession => "CREATE_SESSION",
        /// A connection was closed.
        DeleteSession => "DELETE_SESSION",
        /// A statement was executed synchronously.
        ExecuteStatement => "EXECUTE_STATEMENT",
        /// A statement was executed asynchronously.
        ExecuteStatementAsync => "EXECUTE_STATEMENT_ASYNC",
        /// A statement was closed.
        CloseStatement => "CLOSE_STATEMENT",
        /// A statement was cancelled.
        CancelStatement => "CANCEL_STATEMENT",
        /// Metadata: type information.
        ListTypeInfo => "LIST_TYPE_INFO",
        /// Metadata: catalogs.
        ListCatalogs => "LIST_CATALOGS",
        /// Metadata: schemas.
        ListSchemas => "LIST_SCHEMAS",
        /// Metadata: tables.
        ListTables => "LIST_TABLES",
        /// Metadata: table types.
        ListTableTypes => "LIST_TABLE_TYPES",
        /// Metadata: columns.
        ListColumns => "LIST_COLUMNS",
        /// Metadata: functions.
        ListFunctions => "LIST_FUNCTIONS",
        /// Metadata: primary keys.
        ListPrimaryKeys => "LIST_PRIMARY_KEYS",
        /// Metadata: imported keys.
        ListImportedKeys => "LIST_IMPORTED_KEYS",
        /// Metadata: exported keys.
        ListExportedKeys => "LIST_EXPORTED_KEYS",
        /// Metadata: cross references.
        ListCrossReferences => "LIST_CROSS_REFERENCES",
    }
}

impl OperationType {
    /// Whether this is a `LIST_*` metadata call.
    pub const fn is_metadata(self) -> bool {
        matches!(
            self,
            OperationType::ListTypeInfo
                | OperationType::ListCatalogs
                | OperationType::ListSchemas
                | OperationType::ListTables
                | OperationType::ListTableTypes
                | OperationType::ListColumns
                | OperationType::ListFunctions
                | OperationType::ListPrimaryKeys
                | OperationType::ListImportedKeys
                | OperationType::ListExportedKeys
                | OperationType::ListCrossReferences
        )
    }
}

wire_enum! {
    /// How a statement's results were returned (`ExecutionResultFormat`).
    ExecutionResultFormat {
        /// Not known.
        #[default]
        FormatUnspecified => "FORMAT_UNSPECIFIED",
        /// Arrow batches inline in the response.
        InlineArrow => "INLINE_ARROW",
        /// JSON inline in the response.
        InlineJson => "INLINE_JSON",
        /// CloudFetch: presigned links to result chunks.
        ExternalLinks => "EXTERNAL_LINKS",
        /// Thrift columnar results inline.
        ColumnarInline => "COLUMNAR_INLINE",
    }
}

wire_enum! {
    /// A Unity Catalog volume operation (`VolumeOperationType`).
    VolumeOperationType {
        /// Not known.
        #[default]
        TypeUnspecified => "TYPE_UNSPECIFIED",
        /// Upload a file.
        Put => "PUT",
        /// Download a file.
        Get => "GET",
        /// Delete a file.
        Delete => "DELETE",
        /// List a directory.
        List => "LIST",
        /// Query a volume.
        Query => "QUERY",
    }
}

wire_enum! {
    /// How a proxy authenticates (`DriverProxyAuth`).
    DriverProxyAuth {
        /// Not known.
        #[default]
        AuthUnspecified => "AUTH_UNSPECIFIED",
        /// No authentication.
        None => "NONE",
        /// HTTP basic authentication.
        Basic => "BASIC",
        /// SPNEGO (Kerberos).
        Spnego => "SPNEGO",
    }
}

wire_enum! {
    /// The authentication mechanism (`DriverAuthMech`).
    DriverAuthMech {
        /// Not known.
        #[default]
        TypeUnspecified => "TYPE_UNSPECIFIED",
        /// Anything else.
        Other => "OTHER",
        /// Personal access token.
        Pat => "PAT",
        /// OAuth.
        Oauth => "OAUTH",
    }
}

wire_enum! {
    /// The authentication flow (`DriverAuthFlow`).
    DriverAuthFlow {
        /// Not known.
        #[default]
        TypeUnspecified => "TYPE_UNSPECIFIED",
        /// A token handed to the driver.
        TokenPassthrough => "TOKEN_PASSTHROUGH",
        /// OAuth machine-to-machine.
        ClientCredentials => "CLIENT_CREDENTIALS",
        /// OAuth user-to-machine in a browser.
        BrowserBasedAuthentication => "BROWSER_BASED_AUTHENTICATION",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_operations_are_exactly_the_list_calls() {
        for v in OperationType::ALL {
            assert_eq!(v.is_metadata(), v.as_str().starts_with("LIST_"), "{v}");
        }
    }
}
