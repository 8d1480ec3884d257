//! The simulated HubSpot data: portals, object types, properties, records,
//! pipelines, associations and their built-in definitions.

use std::{
    collections::{BTreeMap, HashMap},
    time::Instant,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::indexes::{Associations, ValueIndex};

/// Account tier: decides e.g. whether sensitive properties are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Starter.
    #[default]
    Starter,
    /// Professional.
    Pro,
    /// Enterprise.
    Enterprise,
}

/// CRM object types served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjType {
    /// `0-1`.
    Contacts,
    /// `0-2`.
    Companies,
    /// `0-3`.
    Deals,
    /// `0-7`.
    Products,
    /// `0-8`.
    LineItems,
    /// `0-46`.
    Notes,
}

impl ObjType {
    /// Every type.
    pub const ALL: [ObjType; 6] = [
        Self::Contacts,
        Self::Companies,
        Self::Deals,
        Self::Products,
        Self::LineItems,
        Self::Notes,
    ];

    /// Parses a path segment: plural/singular name or type id.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "contacts" | "contact" | "0-1" => Self::Contacts,
            "companies" | "company" | "0-2" => Self::Companies,
            "deals" | "deal" | "0-3" => Self::Deals,
            "products" | "product" | "0-7" => Self::Products,
            "line_items" | "line_item" | "lineitems" | "0-8" => Self::LineItems,
            "notes" | "note" | "0-46" => Self::Notes,
            _ => return None,
        })
    }

    /// Plural name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Companies => "companies",
            Self::Deals => "deals",
            Self::Products => "products",
            Self::LineItems => "line_items",
            Self::Notes => "notes",
        }
    }

    /// Singular name (association labels like `deal_to_company`).
    pub fn singular(self) -> &'static str {
        match self {
            Self::Contacts => "contact",
            Self::Companies => "company",
            Self::Deals => "deal",
            Self::Products => "product",
            Self::LineItems => "line_item",
            Self::Notes => "note",
        }
    }

    /// Type id.
    pub fn type_id(self) -> &'static str {
        match self {
            Self::Contacts => "0-1",
            Self::Companies => "0-2",
            Self::Deals => "0-3",
            Self::Products => "0-7",
            Self::LineItems => "0-8",
            Self::Notes => "0-46",
        }
    }

    /// Last-modified property name.
    pub fn modified_property(self) -> &'static str {
        match self {
            Self::Contacts => "lastmodifieddate",
            _ => "hs_lastmodifieddate",
        }
    }

    /// Properties returned when the request names none.
    pub fn default_properties(self) -> &'static [&'static str] {
        match self {
            Self::Contacts => &["firstname", "lastname", "email"],
            Self::Companies => &["name", "domain"],
            Self::Deals => &["dealname", "amount", "closedate", "pipeline", "dealstage"],
            Self::Products => &["name", "description", "price"],
            Self::LineItems => &["quantity", "amount", "price"],
            Self::Notes => &["hs_note_body", "hs_timestamp"],
        }
    }

    /// Whether custom unique properties are allowed (HubSpot's docs list
    /// contacts, companies, deals; not products or line items).
    pub fn supports_unique_properties(self) -> bool {
        matches!(self, Self::Contacts | Self::Companies | Self::Deals)
    }

    /// Scope granting reads or writes.
    pub fn scopes(self, write: bool) -> Vec<String> {
        let rw = if write { "write" } else { "read" };
        let mut scopes = vec![format!("crm.objects.{}.{rw}", self.name())];
        if matches!(self, Self::Products | Self::LineItems) {
            scopes.push("e-commerce".into());
        }
        if self == Self::Notes {
            scopes = vec![format!("crm.objects.contacts.{rw}")];
        }
        scopes
    }

    /// Scope needed to read or write values of (or create) a property with
    /// `sensitivity`: `crm.objects.<type>.{sensitive|highly_sensitive}.{read|write}.v2`;
    /// `None` for non-sensitive properties.
    pub fn sensitive_scope(self, sensitivity: &str, write: bool) -> Option<String> {
        let rw = if write { "write" } else { "read" };
        (sensitivity != "non_sensitive")
            .then(|| format!("crm.objects.{}.{sensitivity}.{rw}.v2", self.name()))
    }
}

/// An enumeration option.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PropOption {
    /// Label.
    pub label: String,
    /// Value.
    pub value: String,
    /// Position.
    #[serde(default)]
    pub display_order: i64,
    /// Hidden (required on create: `OptionInput` has no default for it).
    pub hidden: bool,
}

/// A property definition.
#[derive(Debug, Clone)]
pub struct PropDef {
    /// Internal name.
    pub name: String,
    /// Label.
    pub label: String,
    /// `string`, `number`, `date`, `datetime`, `enumeration`, `bool`.
    pub kind: String,
    /// Field type.
    pub field_type: String,
    /// Group.
    pub group_name: String,
    /// Description.
    pub description: String,
    /// Unique values enforced.
    pub has_unique_value: bool,
    /// Options.
    pub options: Vec<PropOption>,
    /// Sensitivity.
    pub data_sensitivity: String,
    /// Built-in.
    pub hubspot_defined: bool,
    /// Read-only value (calculated or system).
    pub read_only: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl PropDef {
    /// A built-in property.
    pub fn builtin(name: &str, kind: &str, field_type: &str, read_only: bool) -> Self {
        Self {
            name: name.into(),
            label: name.into(),
            kind: kind.into(),
            field_type: field_type.into(),
            group_name: "hubspot_defined".into(),
            description: String::new(),
            has_unique_value: false,
            options: Vec::new(),
            data_sensitivity: "non_sensitive".into(),
            hubspot_defined: true,
            read_only,
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    /// The JSON HubSpot returns (`Property`).
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name, "label": self.label, "type": self.kind, "fieldType": self.field_type,
            "groupName": self.group_name, "description": self.description, "hasUniqueValue": self.has_unique_value,
            "options": self.options, "dataSensitivity": self.data_sensitivity, "hubspotDefined": self.hubspot_defined,
            "calculated": self.read_only && self.hubspot_defined, "hidden": false, "formField": false, "displayOrder": -1,
            "archived": false, "createdAt": iso(self.created_at), "updatedAt": iso(self.created_at),
            "modificationMetadata": {"archivable": !self.hubspot_defined, "readOnlyDefinition": self.hubspot_defined, "readOnlyValue": self.read_only},
        })
    }
}

/// Built-in properties of an object type.
pub fn builtin_properties(t: ObjType) -> Vec<PropDef> {
    let text = |n: &str| PropDef::builtin(n, "string", "text", false);
    let number = |n: &str| PropDef::builtin(n, "number", "number", false);
    let datetime = |n: &str| PropDef::builtin(n, "datetime", "date", false);
    let mut props: Vec<PropDef> = match t {
        ObjType::Contacts => [
            "email",
            "firstname",
            "lastname",
            "phone",
            "mobilephone",
            "address",
            "city",
            "zip",
            "state",
            "country",
            "website",
            "company",
            "jobtitle",
        ]
        .into_iter()
        .map(text)
        .collect(),
        ObjType::Companies => [
            "name",
            "domain",
            "phone",
            "address",
            "city",
            "zip",
            "state",
            "country",
            "website",
            "description",
        ]
        .into_iter()
        .map(text)
        .collect(),
        ObjType::Products => {
            let mut p: Vec<_> = ["name", "description", "hs_sku"]
                .into_iter()
                .map(text)
                .collect();
            p.extend(["price", "hs_cost_of_goods_sold"].into_iter().map(number));
            p
        }
        ObjType::Deals => vec![
            text("dealname"),
            number("amount"),
            datetime("closedate"),
            PropDef::builtin("pipeline", "enumeration", "select", false),
            PropDef::builtin("dealstage", "enumeration", "radio", false),
            text("deal_currency_code"),
            text("description"),
        ],
        ObjType::LineItems => vec![
            text("name"),
            text("description"),
            text("hs_sku"),
            number("quantity"),
            number("price"),
            number("hs_product_id"),
            number("hs_discount_percentage"),
            number("discount"),
            text("hs_tax_rate_group_id"),
            text("hs_line_item_currency_code"),
            PropDef::builtin("amount", "number", "calculation_equation", true),
        ],
        ObjType::Notes => vec![
            PropDef::builtin("hs_note_body", "string", "html", false),
            datetime("hs_timestamp"),
        ],
    };
    if t == ObjType::Contacts {
        props.push(legal_basis());
    }
    props.push(PropDef::builtin("createdate", "datetime", "date", true));
    props.push(PropDef::builtin(
        t.modified_property(),
        "datetime",
        "date",
        true,
    ));
    props.push(PropDef::builtin("hs_object_id", "number", "number", true));
    props
}

/// Contacts' "Legal basis for processing contact's data" (GDPR portals often
/// make it required), with HubSpot's options.
fn legal_basis() -> PropDef {
    let options = [
        "Legitimate interest – prospect/lead",
        "Legitimate interest – existing customer",
        "Legitimate interest - other",
        "Performance of a contract",
        "Freely given consent from contact",
        "Not applicable",
    ];
    PropDef {
        options: options
            .iter()
            .enumerate()
            .map(|(i, value)| PropOption {
                label: (*value).to_owned(),
                value: (*value).to_owned(),
                display_order: i as i64,
                hidden: false,
            })
            .collect(),
        ..PropDef::builtin("hs_legal_basis", "enumeration", "checkbox", false)
    }
}

/// A property group.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Position.
    #[serde(default)]
    pub display_order: i64,
    /// Archived.
    #[serde(default)]
    pub archived: bool,
}

/// What search sees of a record (the index lags behind writes).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Values at the time.
    pub props: BTreeMap<String, String>,
    /// Archived at the time.
    pub archived: bool,
}

/// A stored record.
#[derive(Debug, Clone)]
pub struct Record {
    /// Id.
    pub id: u64,
    /// Current values (system properties included).
    pub props: BTreeMap<String, String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Updated.
    pub updated_at: DateTime<Utc>,
    /// In the recycle bin.
    pub archived: bool,
    /// When archived.
    pub archived_at: Option<DateTime<Utc>>,
    /// What search currently sees.
    pub indexed: Option<Snapshot>,
    /// The next version search will see, and when.
    pub pending: Option<(Instant, Snapshot)>,
    /// Every value each property has had, oldest first (what
    /// `propertiesWithHistory` answers, newest first).
    pub history: BTreeMap<String, Vec<Version>>,
}

/// One value a property had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The value.
    pub value: String,
    /// When it was set.
    pub timestamp: DateTime<Utc>,
    /// Who set it: `CRM_UI`, `INTEGRATION`, `API`.
    pub source_type: &'static str,
}

impl Record {
    /// Records the values just set by `source_type` in the history.
    pub fn remember(
        &mut self,
        values: &BTreeMap<String, String>,
        at: DateTime<Utc>,
        source_type: &'static str,
    ) {
        for (name, value) in values {
            self.history.entry(name.clone()).or_default().push(Version {
                value: value.clone(),
                timestamp: at,
                source_type,
            });
        }
    }

    /// `propertiesWithHistory` for `names`: each property's versions, newest first.
    pub fn history_json(&self, names: &[String]) -> Value {
        let mut out = serde_json::Map::new();
        for name in names {
            let versions: Vec<Value> = self
                .history
                .get(name)
                .map(|v| {
                    v.iter()
                        .rev()
                        .map(|v| json!({"value": v.value, "timestamp": iso(v.timestamp), "sourceType": v.source_type}))
                        .collect()
                })
                .unwrap_or_default();
            out.insert(name.clone(), Value::Array(versions));
        }
        Value::Object(out)
    }

    /// Makes the current version visible to search after `lag`.
    pub fn reindex(&mut self, now: Instant, lag: std::time::Duration) {
        self.promote(now);
        let snapshot = Snapshot {
            props: self.props.clone(),
            archived: self.archived,
        };
        if lag.is_zero() {
            self.indexed = Some(snapshot);
            self.pending = None;
        } else {
            self.pending = Some((now + lag, snapshot));
        }
    }

    /// Moves a due pending version into the index.
    pub fn promote(&mut self, now: Instant) {
        if let Some((due, _)) = &self.pending
            && *due <= now
        {
            self.indexed = self.pending.take().map(|(_, s)| s);
        }
    }

    /// `SimplePublicObject` JSON with the requested properties (`None` = defaults).
    pub fn to_json(&self, t: ObjType, properties: Option<&[String]>) -> Value {
        let names: Vec<String> = match properties {
            Some(p) if !p.is_empty() => p.to_vec(),
            _ => t
                .default_properties()
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        };
        let mut props = serde_json::Map::new();
        for name in names.iter().chain(
            ["createdate", t.modified_property(), "hs_object_id"]
                .map(str::to_owned)
                .iter(),
        ) {
            props.insert(
                name.clone(),
                self.props.get(name).map_or(Value::Null, |v| json!(v)),
            );
        }
        let mut v = json!({
            "id": self.id.to_string(), "properties": props, "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at), "archived": self.archived,
        });
        if let Some(at) = self.archived_at {
            v["archivedAt"] = json!(iso(at));
        }
        v
    }
}

/// A pipeline stage.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Probability as HubSpot writes it (`"0.2"`).
    pub probability: String,
    /// Closed stage.
    pub is_closed: bool,
}

/// A deal pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Stages in order.
    pub stages: Vec<Stage>,
    /// Created (0 for the default pipeline).
    pub created_at: DateTime<Utc>,
}

impl Pipeline {
    /// HubSpot's default sales pipeline and its seven stages.
    pub fn default_sales() -> Self {
        let stage = |id: &str, label: &str, p: &str, closed: bool| Stage {
            id: id.into(),
            label: label.into(),
            probability: p.into(),
            is_closed: closed,
        };
        Self {
            id: "default".into(),
            label: "Sales Pipeline".into(),
            stages: vec![
                stage(
                    "appointmentscheduled",
                    "Appointment Scheduled",
                    "0.2",
                    false,
                ),
                stage("qualifiedtobuy", "Qualified To Buy", "0.4", false),
                stage(
                    "presentationscheduled",
                    "Presentation Scheduled",
                    "0.6",
                    false,
                ),
                stage(
                    "decisionmakerboughtin",
                    "Decision Maker Bought-In",
                    "0.8",
                    false,
                ),
                stage("contractsent", "Contract Sent", "0.9", false),
                stage("closedwon", "Closed Won", "1.0", true),
                stage("closedlost", "Closed Lost", "0.0", true),
            ],
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    /// `Pipeline` JSON.
    pub fn to_json(&self) -> Value {
        let at = iso(self.created_at);
        let stages: Vec<Value> = self
            .stages
            .iter()
            .enumerate()
            .map(|(i, s)| {
                json!({"id": s.id, "label": s.label, "displayOrder": i, "archived": false, "createdAt": at, "updatedAt": at,
                       "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                       "metadata": {"isClosed": s.is_closed.to_string(), "probability": s.probability}})
            })
            .collect();
        json!({"id": self.id, "label": self.label, "displayOrder": 0, "archived": false, "createdAt": at, "updatedAt": at, "stages": stages})
    }
}

/// One association edge (stored in both directions). Ordered by its fields
/// in turn, so one record's edges to one type sort together.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Assoc {
    /// From type.
    pub from_type: ObjType,
    /// From id.
    pub from_id: u64,
    /// To type.
    pub to_type: ObjType,
    /// To id.
    pub to_id: u64,
    /// Type id.
    pub type_id: u32,
}

/// HubSpot-defined type ids: `(from, to, unlabeled, primary)`.
const ASSOCIATION_TYPES: [(ObjType, ObjType, u32, Option<u32>); 12] = [
    (ObjType::Deals, ObjType::Companies, 341, Some(5)),
    (ObjType::Companies, ObjType::Deals, 342, Some(6)),
    (ObjType::Deals, ObjType::Contacts, 3, None),
    (ObjType::Contacts, ObjType::Deals, 4, None),
    (ObjType::Contacts, ObjType::Companies, 279, Some(1)),
    (ObjType::Companies, ObjType::Contacts, 280, Some(2)),
    (ObjType::Deals, ObjType::LineItems, 19, None),
    (ObjType::LineItems, ObjType::Deals, 20, None),
    (ObjType::Deals, ObjType::Notes, 213, None),
    (ObjType::Notes, ObjType::Deals, 214, None),
    (ObjType::Contacts, ObjType::Notes, 201, None),
    (ObjType::Notes, ObjType::Contacts, 202, None),
];

/// The unlabeled and primary ids between two types.
pub fn association_ids(from: ObjType, to: ObjType) -> Option<(u32, Option<u32>)> {
    ASSOCIATION_TYPES
        .iter()
        .find(|(f, t, _, _)| *f == from && *t == to)
        .map(|(_, _, u, p)| (*u, *p))
}

/// The id of the same association seen from the other side.
pub fn inverse_type(from: ObjType, to: ObjType, type_id: u32) -> Option<u32> {
    let (unlabeled, primary) = association_ids(from, to)?;
    let (inv_unlabeled, inv_primary) = association_ids(to, from)?;
    if type_id == unlabeled {
        Some(inv_unlabeled)
    } else if Some(type_id) == primary {
        inv_primary
    } else {
        None
    }
}

/// A tax rate of the account's library.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaxRate {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Percentage (a JSON number, as in the spec).
    pub percentage_rate: serde_json::Number,
    /// Active.
    pub active: bool,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
}

/// One simulated HubSpot account.
#[derive(Debug, Clone)]
pub struct Portal {
    /// Id.
    pub id: u64,
    /// Tier.
    pub tier: Tier,
    /// IANA time zone.
    pub time_zone: String,
    /// Company currency.
    pub currency: String,
    /// Whether the app's app events are approved for this portal.
    pub app_events_approved: bool,
    /// Records per type.
    pub records: HashMap<ObjType, BTreeMap<u64, Record>>,
    /// Properties per type.
    pub properties: HashMap<ObjType, BTreeMap<String, PropDef>>,
    /// Groups per type.
    pub groups: HashMap<ObjType, BTreeMap<String, Group>>,
    /// Deal pipelines.
    pub pipelines: Vec<Pipeline>,
    /// Associations.
    pub associations: Associations,
    /// Tax rates.
    pub tax_rates: Vec<TaxRate>,
    /// App event occurrences received.
    pub app_events: Vec<Value>,
    /// Properties the account requires on creates (enforced by `2026-09` writes).
    pub required: HashMap<ObjType, Vec<String>>,
    /// The account's users, by user id.
    pub users: BTreeMap<u64, User>,
    /// Values of the unique properties, for lookups without a scan.
    pub values: ValueIndex,
}

/// A user of an account (user provisioning API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// User id (numeric; the API sends it as a string).
    pub id: u64,
    /// Email.
    pub email: String,
    /// Whether the user is a super admin of the account.
    pub super_admin: bool,
}

impl User {
    /// The user as `GET /settings/users/2026-03/{userId}` answers it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id.to_string(), "email": self.email, "superAdmin": self.super_admin,
            "roleIds": [], "secondaryTeamIds": [], "sendWelcomeEmail": false,
        })
    }
}

impl Portal {
    /// A fresh account with HubSpot's built-ins.
    pub fn new(id: u64, tier: Tier, time_zone: String, app_events_approved: bool) -> Self {
        let mut properties = HashMap::new();
        let mut groups = HashMap::new();
        for t in ObjType::ALL {
            properties.insert(
                t,
                builtin_properties(t)
                    .into_iter()
                    .map(|p| (p.name.clone(), p))
                    .collect(),
            );
            let info = Group {
                name: format!("{}information", t.singular()),
                label: format!("{} information", t.singular()),
                display_order: 0,
                archived: false,
            };
            groups.insert(t, BTreeMap::from([(info.name.clone(), info)]));
        }
        let mut portal = Self {
            id,
            tier,
            time_zone,
            currency: "EUR".into(),
            app_events_approved,
            records: HashMap::new(),
            properties,
            groups,
            pipelines: vec![Pipeline::default_sales()],
            associations: Associations::default(),
            values: ValueIndex::default(),
            tax_rates: Vec::new(),
            app_events: Vec::new(),
            required: HashMap::new(),
            users: BTreeMap::new(),
        };
        // A contact's email is unique in every account.
        portal.index_values(ObjType::Contacts, "email");
        portal
    }

    /// Starts looking values of `property` of `t` up by index, from the
    /// records' current values (a unique property, from its creation on).
    pub fn index_values(&mut self, t: ObjType, property: &str) {
        let records = self.records.get(&t).into_iter().flat_map(|r| r.values());
        let values = records.filter_map(|r| Some((r.id, r.props.get(property)?.as_str())));
        self.values.build(t, property, values);
    }

    /// Records of a type.
    pub fn records(&mut self, t: ObjType) -> &mut BTreeMap<u64, Record> {
        self.records.entry(t).or_default()
    }

    /// Property definitions of a type.
    pub fn props(&self, t: ObjType) -> &BTreeMap<String, PropDef> {
        self.properties.get(&t).expect("every type has properties")
    }

    /// Adds an association and its inverse (idempotent). A record has one
    /// primary company: a new primary demotes the previous one to unlabeled.
    pub fn associate(
        &mut self,
        from: ObjType,
        from_id: u64,
        to: ObjType,
        to_id: u64,
        type_id: u32,
    ) {
        if association_ids(from, to).is_some_and(|(_, primary)| primary == Some(type_id)) {
            if to == ObjType::Companies {
                self.demote_primary_company(from, from_id, to_id);
            } else {
                self.demote_primary_company(to, to_id, from_id);
            }
        }
        self.associations.insert(Assoc {
            from_type: from,
            from_id,
            to_type: to,
            to_id,
            type_id,
        });
        if let Some(inv) = inverse_type(from, to, type_id) {
            self.associations.insert(Assoc {
                from_type: to,
                from_id: to_id,
                to_type: from,
                to_id: from_id,
                type_id: inv,
            });
        }
        // A primary association also creates the unlabeled one.
        if let Some((unlabeled, Some(primary))) = association_ids(from, to)
            && type_id == primary
        {
            self.associate(from, from_id, to, to_id, unlabeled);
        }
    }

    /// Drops the primary label (both directions) between `record` and any
    /// company other than `keep`; the unlabeled association stays.
    fn demote_primary_company(&mut self, t: ObjType, record: u64, keep: u64) {
        let company = ObjType::Companies;
        let (Some((unlabeled, Some(primary))), Some((_, Some(reverse)))) =
            (association_ids(t, company), association_ids(company, t))
        else {
            return;
        };
        let demoted: Vec<u64> = self
            .associations
            .of_record(t, record, company)
            .filter(|a| a.type_id == primary && a.to_id != keep)
            .map(|a| a.to_id)
            .collect();
        for &other in &demoted {
            self.associations.remove(&Assoc {
                from_type: t,
                from_id: record,
                to_type: company,
                to_id: other,
                type_id: primary,
            });
            self.associations.remove(&Assoc {
                from_type: company,
                from_id: other,
                to_type: t,
                to_id: record,
                type_id: reverse,
            });
        }
        for other in demoted {
            self.associate(t, record, company, other, unlabeled);
        }
    }
}

/// ISO-8601 with milliseconds, as HubSpot writes timestamps.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types_between(p: &Portal, from: ObjType, from_id: u64, to_id: u64) -> Vec<u32> {
        let mut types: Vec<u32> = p
            .associations
            .iter()
            .filter(|a| a.from_type == from && a.from_id == from_id && a.to_id == to_id)
            .map(|a| a.type_id)
            .collect();
        types.sort_unstable();
        types
    }

    #[test]
    fn a_new_primary_company_demotes_the_previous_one() {
        let mut p = Portal::new(1, Tier::Pro, "Europe/Madrid".into(), false);
        let (deal, old, new) = (100, 200, 300);
        p.associate(ObjType::Deals, deal, ObjType::Companies, old, 5);
        p.associate(ObjType::Deals, deal, ObjType::Companies, new, 5);
        assert_eq!(types_between(&p, ObjType::Deals, deal, old), [341]);
        assert_eq!(types_between(&p, ObjType::Companies, old, deal), [342]);
        assert_eq!(types_between(&p, ObjType::Deals, deal, new), [5, 341]);
        assert_eq!(types_between(&p, ObjType::Companies, new, deal), [6, 342]);

        // The reverse type (company → contact primary) moves the contact's primary too.
        let contact = 400;
        p.associate(ObjType::Contacts, contact, ObjType::Companies, old, 1);
        p.associate(ObjType::Companies, new, ObjType::Contacts, contact, 2);
        assert_eq!(types_between(&p, ObjType::Contacts, contact, old), [279]);
        assert_eq!(types_between(&p, ObjType::Companies, old, contact), [280]);
        assert_eq!(types_between(&p, ObjType::Contacts, contact, new), [1, 279]);
        assert_eq!(
            types_between(&p, ObjType::Deals, deal, new),
            [5, 341],
            "other records keep theirs"
        );
    }
}
