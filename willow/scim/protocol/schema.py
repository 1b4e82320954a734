"""The SCIM schemas Willow implements, as data (RFC 7643 §4 and §8.7.1).

This is the one source of truth for attribute names, types, mutability and case rules.
Input normalisation, PATCH, filters, projection (``attributes``/``excludedAttributes``)
and the ``/Schemas`` discovery endpoint all read it, so adding an attribute here is the
first step everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@dataclass(frozen=True)
class Attribute:
    """One attribute definition (RFC 7643 §7)."""

    name: str
    type: str = "string"  # string boolean decimal integer dateTime reference complex binary
    multi_valued: bool = False
    description: str = ""
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"  # readOnly readWrite immutable writeOnly
    returned: str = "default"  # always never default request
    uniqueness: str = "none"  # none server global
    sub_attributes: tuple[Attribute, ...] = ()
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()

    def sub(self, name: str) -> Attribute | None:
        """A sub-attribute by name, compared case-insensitively (RFC 7643 §2.1)."""
        lowered = name.lower()
        for attr in self.sub_attributes:
            if attr.name.lower() == lowered:
                return attr
        return None

    def to_dict(self) -> dict:
        """The attribute as RFC 7643 §7 renders it in a schema resource."""
        rv: dict = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
        }
        if self.type in ("string", "reference", "binary"):
            rv["caseExact"] = self.case_exact
        if self.canonical_values:
            rv["canonicalValues"] = list(self.canonical_values)
        rv["mutability"] = self.mutability
        rv["returned"] = self.returned
        if self.type != "complex":
            rv["uniqueness"] = self.uniqueness
        if self.reference_types:
            rv["referenceTypes"] = list(self.reference_types)
        if self.sub_attributes:
            rv["subAttributes"] = [a.to_dict() for a in self.sub_attributes]
        return rv


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...] = field(default_factory=tuple)

    def attribute(self, name: str) -> Attribute | None:
        lowered = name.lower()
        for attr in self.attributes:
            if attr.name.lower() == lowered:
                return attr
        return None


def _s(name: str, description: str = "", **kw) -> Attribute:
    return Attribute(name=name, description=description, **kw)


def _multi(
    name: str, description: str, value_type: str = "string", types=(), reference_types=(), **kw
) -> Attribute:
    """The usual multi-valued shape: value, display, type, primary (RFC 7643 §2.4)."""
    return Attribute(
        name=name,
        type="complex",
        multi_valued=True,
        description=description,
        sub_attributes=(
            _s(
                "value",
                f"The value of the {name} entry.",
                type=value_type,
                reference_types=reference_types,
            ),
            _s("display", "A human-readable name, primarily used for display purposes."),
            _s("type", "A label indicating the attribute's function.", canonical_values=types),
            _s("primary", "Indicates the preferred value; at most one is true.", type="boolean"),
        ),
        **kw,
    )


ID_ATTRIBUTE = _s(
    "id",
    "Unique identifier for the resource, assigned by the service provider.",
    case_exact=True,
    mutability="readOnly",
    returned="always",
    uniqueness="server",
)
EXTERNAL_ID_ATTRIBUTE = _s(
    "externalId",
    "Identifier of the resource as defined by the provisioning client.",
    case_exact=True,
)
META_ATTRIBUTE = Attribute(
    name="meta",
    type="complex",
    description="Resource metadata.",
    mutability="readOnly",
    sub_attributes=(
        _s(
            "resourceType", "The name of the resource type.", case_exact=True, mutability="readOnly"
        ),
        _s("created", "When the resource was added.", type="dateTime", mutability="readOnly"),
        _s(
            "lastModified",
            "When the resource was last changed.",
            type="dateTime",
            mutability="readOnly",
        ),
        _s(
            "location",
            "The URI of the resource.",
            type="reference",
            case_exact=True,
            mutability="readOnly",
            reference_types=("uri",),
        ),
        _s(
            "version", "The version (ETag) of the resource.", case_exact=True, mutability="readOnly"
        ),
    ),
)
#: Attributes every resource has (RFC 7643 §3.1); not listed in the schema resources.
COMMON_ATTRIBUTES = (ID_ATTRIBUTE, EXTERNAL_ID_ATTRIBUTE, META_ATTRIBUTE)

USER = Schema(
    id=USER_SCHEMA,
    name="User",
    description="User Account",
    attributes=(
        _s(
            "userName",
            "Unique identifier for the User, used to sign in. Compared case-insensitively.",
            required=True,
            uniqueness="server",
        ),
        Attribute(
            name="name",
            type="complex",
            description="The components of the user's real name.",
            sub_attributes=(
                _s("formatted", "The full name, formatted for display."),
                _s("familyName", "The family name (last name in most Western languages)."),
                _s("givenName", "The given name (first name in most Western languages)."),
                _s("middleName", "The middle name(s)."),
                _s("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
                _s("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
            ),
        ),
        _s("displayName", "The name of the User, suitable for display to end-users."),
        _s("nickName", "The casual way to address the user."),
        _s(
            "profileUrl",
            "A URI to the user's online profile.",
            type="reference",
            reference_types=("external",),
        ),
        _s("title", "The user's title, such as 'Vice President'."),
        _s("userType", "The relationship between the organization and the user."),
        _s("preferredLanguage", "The user's preferred written or spoken language."),
        _s("locale", "The user's default location, e.g. 'en-US'."),
        _s("timezone", "The user's time zone in IANA format, e.g. 'America/Los_Angeles'."),
        _s(
            "active",
            "The user's administrative status. false: deactivated (kept, cannot sign in).",
            type="boolean",
        ),
        _s(
            "password",
            "Accepted and discarded: Willow users sign in through SSO. Never stored or returned.",
            mutability="writeOnly",
            returned="never",
        ),
        _multi("emails", "Email addresses for the user.", types=("work", "home", "other")),
        _multi(
            "phoneNumbers",
            "Phone numbers for the user.",
            types=("work", "home", "mobile", "fax", "pager", "other"),
        ),
        _multi(
            "ims",
            "Instant messaging addresses for the user.",
            types=("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
        ),
        _multi(
            "photos",
            "URLs of photos of the user.",
            value_type="reference",
            types=("photo", "thumbnail"),
            reference_types=("external",),
        ),
        Attribute(
            name="addresses",
            type="complex",
            multi_valued=True,
            description="Physical mailing addresses for this user.",
            sub_attributes=(
                _s("formatted", "The full mailing address, formatted for display."),
                _s("streetAddress", "The full street address component."),
                _s("locality", "The city or locality component."),
                _s("region", "The state or region component."),
                _s("postalCode", "The zip code or postal code component."),
                _s("country", "The country name component."),
                _s(
                    "type",
                    "A label indicating the attribute's function.",
                    canonical_values=("work", "home", "other"),
                ),
                _s("primary", "Indicates the preferred mailing address.", type="boolean"),
            ),
        ),
        Attribute(
            name="groups",
            type="complex",
            multi_valued=True,
            description="The groups the user belongs to, derived from group memberships.",
            mutability="readOnly",
            sub_attributes=(
                _s("value", "The id of the group.", mutability="readOnly"),
                _s(
                    "$ref",
                    "The URI of the group.",
                    type="reference",
                    mutability="readOnly",
                    reference_types=("Group",),
                ),
                _s("display", "The displayName of the group.", mutability="readOnly"),
                _s(
                    "type",
                    "How the membership is held.",
                    mutability="readOnly",
                    canonical_values=("direct", "indirect"),
                ),
            ),
        ),
        _multi("entitlements", "Entitlements held by the user."),
        _multi("roles", "Roles held by the user."),
        _multi(
            "x509Certificates",
            "X.509 certificates issued to the user (DER, base64).",
            value_type="binary",
        ),
    ),
)

GROUP = Schema(
    id=GROUP_SCHEMA,
    name="Group",
    description="Group",
    attributes=(
        _s(
            "displayName",
            "A human-readable name for the Group. Unique, compared case-insensitively.",
            required=True,
            uniqueness="server",
        ),
        Attribute(
            name="members",
            type="complex",
            multi_valued=True,
            description="A list of members of the Group.",
            sub_attributes=(
                _s("value", "The id of the member.", case_exact=True, mutability="immutable"),
                _s(
                    "$ref",
                    "The URI of the member.",
                    type="reference",
                    mutability="immutable",
                    reference_types=("User", "Group"),
                ),
                _s("display", "A human-readable name of the member.", mutability="readOnly"),
                _s(
                    "type",
                    "The type of the member.",
                    mutability="immutable",
                    canonical_values=("User",),
                ),
            ),
        ),
    ),
)

ENTERPRISE_USER = Schema(
    id=ENTERPRISE_USER_SCHEMA,
    name="EnterpriseUser",
    description="Enterprise User",
    attributes=(
        _s("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
        _s("costCenter", "Identifies the name of a cost center."),
        _s("organization", "Identifies the name of an organization."),
        _s("division", "Identifies the name of a division."),
        _s("department", "Identifies the name of a department."),
        Attribute(
            name="manager",
            type="complex",
            description="The user's manager.",
            sub_attributes=(
                _s("value", "The id of the manager's User resource.", case_exact=True),
                _s(
                    "$ref",
                    "The URI of the manager's User resource.",
                    type="reference",
                    reference_types=("User",),
                ),
                _s("displayName", "The displayName of the manager.", mutability="readOnly"),
            ),
        ),
    ),
)

SCHEMAS: dict[str, Schema] = {s.id: s for s in (USER, GROUP, ENTERPRISE_USER)}

#: Core schema and allowed extensions per resource type.
RESOURCE_SCHEMAS: dict[str, tuple[Schema, tuple[Schema, ...]]] = {
    "User": (USER, (ENTERPRISE_USER,)),
    "Group": (GROUP, ()),
}


def schema_by_urn(urn: str) -> Schema | None:
    """A schema by its URN, compared case-insensitively."""
    lowered = urn.lower()
    for schema_id, schema in SCHEMAS.items():
        if schema_id.lower() == lowered:
            return schema
    return None


def split_urn(path: str, resource_type: str) -> tuple[Schema | None, str]:
    """Split a possibly URN-prefixed attribute path into (schema, rest).

    ``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`` gives the
    enterprise schema and ``department``; ``name.givenName`` gives (None, path). A path that
    is exactly a schema URN gives (schema, "").
    """
    core, extensions = RESOURCE_SCHEMAS[resource_type]
    lowered = path.lower()
    for schema in (*extensions, core):
        prefix = schema.id.lower()
        if lowered == prefix:
            return schema, ""
        if lowered.startswith(prefix + ":"):
            return schema, path[len(prefix) + 1 :]
    return None, path


def find_attribute(
    resource_type: str, path: str
) -> tuple[Schema | None, Attribute | None, Attribute | None]:
    """Resolve ``attr`` or ``attr.sub`` (optionally URN-prefixed) to definitions.

    Returns (schema, attribute, sub_attribute); unknown names give None in their place.
    Common attributes (id, externalId, meta) resolve with schema None.
    """
    core, _ = RESOURCE_SCHEMAS[resource_type]
    schema, rest = split_urn(path, resource_type)
    name, _, sub_name = rest.partition(".")
    attr = None
    if schema is None:
        for common in COMMON_ATTRIBUTES:
            if common.name.lower() == name.lower():
                attr = common
                break
        if attr is None:
            schema = core
    if attr is None and schema is not None:
        attr = schema.attribute(name)
    sub = attr.sub(sub_name) if attr is not None and sub_name else None
    return schema, attr, sub
