//! Streams of pages with bounded memory: one page in flight at a time, or,
//! for scans that read a list to its end, one page read ahead while the
//! caller works on the last ([`Pages::read_ahead`]).
//!
//! v1 pages are bare arrays by `?page=N`: ask for [`V1_PAGE_SIZE`] records a
//! page (v1 documents no page size; it may answer fewer, and every answer is
//! taken as it comes), stop on an empty page, drop ids seen before (Holded
//! may repeat a page), stop when a whole page repeats.
//! v2 pages are `{items, cursor, has_more}`: follow `cursor` while `has_more`,
//! stop on a cursor seen before.
//!
//! A list that does not reach a clean end — a repeated page or cursor, records
//! repeated between pages, a short page before more records, `has_more`
//! without a cursor — is told by [`Pages::doubt`]: whoever reads it must not
//! take an absence as a deletion.

use std::{
    collections::HashSet,
    hash::{DefaultHasher, Hash, Hasher},
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use futures::{Stream, StreamExt, TryStreamExt, stream::BoxStream};
use serde_json::Value;

use super::{
    error::HoldedError,
    transport::{Call, Transport},
    wire::Obj,
};

/// A stream of pages of `T` that knows whether it reached a clean end.
pub struct Pages<T> {
    inner: BoxStream<'static, Result<Vec<T>, HoldedError>>,
    doubt: Doubt,
    gone: Arc<Mutex<Vec<String>>>,
}

impl<T> Pages<T> {
    fn new(inner: BoxStream<'static, Result<Vec<T>, HoldedError>>, doubt: Doubt) -> Self {
        Self {
            inner,
            doubt,
            gone: Arc::default(),
        }
    }

    /// Why this list may have missed records (Spanish, for the run), once it
    /// ended; `None` when it reached a clean end.
    pub fn doubt(&self) -> Option<String> {
        self.doubt.get()
    }

    /// Of the records asked for by id ([`Pages::by_id`]), those Holded no
    /// longer has (deleted), once the stream ended; empty for a list.
    pub fn gone(&self) -> Vec<String> {
        self.gone.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl<T: Send + 'static> Pages<T> {
    /// The same pages, read on a task of their own one page ahead of the
    /// caller: the next page is on its way while the caller writes the last.
    /// At most two pages wait besides the caller's. For scans that read to
    /// the end: a caller that stops early has cost one page more. Dropping
    /// the stream stops the reading.
    pub fn read_ahead(self) -> Self {
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        let mut inner = self.inner;
        tokio::spawn(async move {
            while let Some(page) = inner.next().await {
                let failed = page.is_err();
                if sender.send(page).await.is_err() || failed {
                    break;
                }
            }
        });
        let pages = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|page| (page, receiver))
        });
        Self {
            inner: pages.boxed(),
            doubt: self.doubt,
            gone: self.gone,
        }
    }

    /// The records `ids`, each read by `fetch` when the stream gets to it, in
    /// pages of up to 100; a record Holded answers "not found" for is left
    /// out and told by [`Pages::gone`].
    pub(crate) fn by_id<F, Fut>(ids: Vec<String>, fetch: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, HoldedError>> + Send + 'static,
    {
        let gone: Arc<Mutex<Vec<String>>> = Arc::default();
        let noted = gone.clone();
        let fetch = Arc::new(fetch);
        let chunks: Vec<Vec<String>> = ids.chunks(100).map(<[String]>::to_vec).collect();
        let stream = futures::stream::iter(chunks).then(move |chunk| {
            let (fetch, noted) = (fetch.clone(), noted.clone());
            async move {
                let mut page = Vec::with_capacity(chunk.len());
                for id in chunk {
                    match fetch(id.clone()).await {
                        Ok(record) => page.push(record),
                        Err(HoldedError::NotFound { .. }) => {
                            noted.lock().unwrap_or_else(|p| p.into_inner()).push(id);
                        }
                        Err(other) => return Err(other),
                    }
                }
                Ok(page)
            }
        });
        Self {
            inner: stream.boxed(),
            doubt: Doubt::default(),
            gone,
        }
    }
}

impl<T> Stream for Pages<T> {
    type Item = Result<Vec<T>, HoldedError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// The first reason a list may be incomplete, shared between the stream's
/// state and its reader.
#[derive(Clone, Default)]
struct Doubt(Arc<Mutex<Option<String>>>);

impl Doubt {
    fn raise(&self, path: &str, why: &str) {
        tracing::warn!(path, why, "Holded list may be incomplete");
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert_with(|| {
            format!("La lista de Holded {path} no terminó limpiamente: {why}.")
        });
    }

    fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Parses one list element (value, path for errors).
pub(crate) trait Parse<T>:
    Fn(&Value, String) -> Result<T, HoldedError> + Send + 'static
{
}

impl<T, F: Fn(&Value, String) -> Result<T, HoldedError> + Send + 'static> Parse<T> for F {}

/// A list request: path and fixed query parameters.
pub(crate) struct ListQuery {
    pub path: String,
    pub query: Vec<(&'static str, String)>,
}

impl ListQuery {
    /// A list of everything under `path`.
    pub(crate) fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            query: Vec::new(),
        }
    }

    /// Adds a filter.
    pub(crate) fn filter(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    fn call(&self) -> Call {
        self.query
            .iter()
            .fold(Call::get(self.path.clone()), |call, (k, v)| {
                call.query(k, v.clone())
            })
    }
}

/// The v1 page size asked for (`limit`): the largest some clients send and
/// Holded's documented maximum for the lists it documents a size for.
pub const V1_PAGE_SIZE: u32 = 500;

struct V1State<T, P> {
    transport: Arc<Transport>,
    list: ListQuery,
    page: u32,
    seen: HashSet<u64>,
    parse: P,
    id_of: fn(&T) -> &str,
    /// Length of the first page (Holded's page size, which it does not document).
    first_len: Option<usize>,
    /// A page shorter than the first came (a clean end if nothing follows).
    short: bool,
    doubt: Doubt,
}

/// v1 pages of `list` (see module docs). Ids seen are kept as 64-bit hashes.
pub(crate) fn v1_pages<T: Send + 'static>(
    transport: Arc<Transport>,
    list: ListQuery,
    parse: impl Parse<T>,
    id_of: fn(&T) -> &str,
) -> Pages<T> {
    let doubt = Doubt::default();
    let state = V1State {
        transport,
        list,
        page: 1,
        seen: HashSet::new(),
        parse,
        id_of,
        first_len: None,
        short: false,
        doubt: doubt.clone(),
    };
    let stream = futures::stream::try_unfold(state, |mut st| async move {
        let call = st
            .list
            .call()
            .query("limit", V1_PAGE_SIZE.to_string())
            .query("page", st.page.to_string());
        let body = st.transport.json(call).await?;
        let Value::Array(items) = body else {
            return Err(HoldedError::decode("(page)", "expected a JSON array"));
        };
        if items.is_empty() {
            return Ok(None);
        }
        if st.short {
            st.doubt
                .raise(&st.list.path, "una página incompleta llegó antes que otras");
        }
        let first_len = *st.first_len.get_or_insert(items.len());
        st.short |= items.len() < first_len;
        st.page += 1;
        let mut fresh = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let record = (st.parse)(item, format!("[{i}]"))?;
            if st.seen.insert(hash_id((st.id_of)(&record))) {
                fresh.push(record);
            }
        }
        if fresh.is_empty() {
            st.doubt.raise(
                &st.list.path,
                "repitió una página entera y la lectura se detuvo",
            );
            return Ok(None);
        }
        if fresh.len() < items.len() {
            st.doubt
                .raise(&st.list.path, "repitió registros de otra página");
        }
        Ok(Some((fresh, st)))
    });
    Pages::new(stream.boxed(), doubt)
}

fn hash_id(id: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    id.hash(&mut hasher);
    hasher.finish()
}

struct V2State<P> {
    transport: Arc<Transport>,
    list: ListQuery,
    limit: u32,
    cursor: Option<String>,
    seen_cursors: HashSet<String>,
    parse: P,
    doubt: Doubt,
}

/// v2 pages of `list` (see module docs).
pub(crate) fn v2_pages<T: Send + 'static>(
    transport: Arc<Transport>,
    list: ListQuery,
    limit: u32,
    parse: impl Parse<T>,
) -> Pages<T> {
    let doubt = Doubt::default();
    let state = Some(V2State {
        transport,
        list,
        limit,
        cursor: None,
        seen_cursors: HashSet::new(),
        parse,
        doubt: doubt.clone(),
    });
    let stream = futures::stream::try_unfold(state, |state| async move {
        let Some(mut st) = state else {
            return Ok(None);
        };
        let mut call = st.list.call().query("limit", st.limit.to_string());
        if let Some(cursor) = &st.cursor {
            call = call.query("cursor", cursor.clone());
        }
        let body = st.transport.json(call).await?;
        let page = Obj::new(&body, "")?;
        let items = page
            .array("items")?
            .into_iter()
            .map(|(path, item)| (st.parse)(item, path))
            .collect::<Result<Vec<_>, _>>()?;
        let has_more = page.flag("has_more")?.unwrap_or(false);
        let next = page.text("cursor")?;
        if has_more && items.len() < st.limit as usize {
            st.doubt
                .raise(&st.list.path, "una página incompleta llegó antes que otras");
        }
        let more = match next {
            Some(cursor) if has_more => {
                if st.seen_cursors.insert(cursor.clone()) {
                    st.cursor = Some(cursor);
                    true
                } else {
                    st.doubt
                        .raise(&st.list.path, "repitió un cursor y la lectura se detuvo");
                    false
                }
            }
            None if has_more => {
                st.doubt
                    .raise(&st.list.path, "anunció más páginas sin dar el cursor");
                false
            }
            _ => false,
        };
        Ok(Some((items, more.then_some(st))))
    });
    Pages::new(stream.boxed(), doubt)
}

/// Every record of a stream of pages (for small lists: taxes, series, lookups).
pub(crate) async fn collect<T>(pages: Pages<T>) -> Result<Vec<T>, HoldedError> {
    let pages: Vec<Vec<T>> = pages.try_collect().await?;
    Ok(pages.into_iter().flatten().collect())
}
