//! The product index in tantivy: the local stack's search engine, in its data folder.
//!
//! `<root>/CURRENT` names the live index's folder. One writer thread owns the live index's
//! writer and the revision each product reached (removals included), so the revision rule is
//! one map lookup; it commits after each batch of changes and reloads the readers, so a search
//! that starts after [`SearchIndex::apply`] returns sees the changes. A rebuild fills a new
//! folder and swaps it in by rewriting `CURRENT` (a rename: one step).
//!
//! A search is one pass over the documents the words (or a SKU) match: each is checked against
//! the filters, counted in the facets the other filters let through, and ranked if it passes
//! every filter, reading the category, price, stock, option values and age from fast fields.
//!
//! An index of an earlier schema (a field missing) is unreadable to this one: it is replaced
//! by an empty one, which the stack rebuilds from the catalogue.

mod gather;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, mpsc};

use anyhow::Context;
use async_trait::async_trait;
use shop::catalog::Product;
use shop::domain::ProductId;
use shop::search::{
    Change, DESCRIPTION_EXACT, DESCRIPTION_NEAR, Highlight, Hit, NAME_EXACT, NAME_NEAR, Rebuild, SKU_EXACT,
    SearchIndex, SearchQuery, SearchResults, Suggestion, as_sku, edits, option_terms, skus,
};
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, SimpleTokenizer, TextAnalyzer};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use gather::Gather;

/// The analyser of names and descriptions: runs of letters and digits (as
/// [`shop::search::words`] splits a query), lower-cased, accents folded to ASCII.
const ANALYSER: &str = "shop_text";
/// The file naming the live index's folder.
const CURRENT: &str = "CURRENT";
/// The writers' indexing memory (tantivy's minimum per thread is 15 MB).
const WRITER_MEMORY: usize = 32 * 1024 * 1024;

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    name: Field,
    description: Field,
    category: Field,
    price: Field,
    in_stock: Field,
    created: Field,
    revision: Field,
    /// The option values its variants offer ([`option_terms`]).
    options: Field,
    /// Its variants' SKUs.
    sku: Field,
    /// The product as the catalogue answers it, as JSON.
    product: Field,
}

impl Fields {
    fn schema() -> Schema {
        let text = TextOptions::default().set_stored().set_indexing_options(
            TextFieldIndexing::default().set_tokenizer(ANALYSER).set_index_option(IndexRecordOption::WithFreqs),
        );
        let mut schema = Schema::builder();
        schema.add_text_field("id", STRING | STORED | FAST);
        schema.add_text_field("name", text.clone());
        schema.add_text_field("description", text);
        schema.add_text_field("category", STRING | FAST);
        schema.add_u64_field("price", INDEXED | FAST);
        schema.add_bool_field("in_stock", FAST);
        schema.add_i64_field("created", FAST);
        schema.add_u64_field("revision", FAST);
        schema.add_text_field("options", STRING | FAST);
        schema.add_text_field("sku", STRING);
        schema.add_text_field("product", STORED);
        schema.build()
    }

    /// The fields of `schema`; an error if it is not this version's schema.
    fn of(schema: &Schema) -> anyhow::Result<Self> {
        let f = |name| schema.get_field(name).with_context(|| format!("the index has no field {name}"));
        Ok(Self {
            id: f("id")?,
            name: f("name")?,
            description: f("description")?,
            category: f("category")?,
            price: f("price")?,
            in_stock: f("in_stock")?,
            created: f("created")?,
            revision: f("revision")?,
            options: f("options")?,
            sku: f("sku")?,
            product: f("product")?,
        })
    }

    fn document(&self, p: &Product) -> anyhow::Result<TantivyDocument> {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.id, p.id.to_string());
        doc.add_text(self.name, p.name.as_str());
        doc.add_text(self.description, p.description.as_str());
        doc.add_text(self.category, p.category.as_str());
        doc.add_u64(self.price, u64::try_from(p.price.amount).context("a negative price")?);
        doc.add_bool(self.in_stock, p.stock > 0);
        doc.add_i64(self.created, p.created_at.unix_millis());
        doc.add_u64(self.revision, p.version);
        for term in option_terms(p) {
            doc.add_text(self.options, term);
        }
        for sku in skus(p) {
            doc.add_text(self.sku, sku);
        }
        doc.add_text(self.product, serde_json::to_string(p)?);
        Ok(doc)
    }

    fn id_term(&self, id: &ProductId) -> Term {
        Term::from_field_text(self.id, &id.to_string())
    }
}

fn analyser() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default()).filter(LowerCaser).filter(AsciiFoldingFilter).build()
}

/// One index folder, open for searching.
struct Live {
    folder: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl Live {
    fn create(folder: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
        Self::ready(folder.clone(), Index::create_in_dir(&folder, Fields::schema())?)
    }

    fn open(folder: PathBuf) -> anyhow::Result<Self> {
        let index = Index::open_in_dir(&folder).with_context(|| format!("opening {}", folder.display()))?;
        Self::ready(folder, index)
    }

    fn ready(folder: PathBuf, index: Index) -> anyhow::Result<Self> {
        index.tokenizers().register(ANALYSER, analyser());
        let fields = Fields::of(&index.schema())?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Self { folder, index, reader, fields })
    }

    fn writer(&self) -> anyhow::Result<IndexWriter> {
        Ok(self.index.writer_with_num_threads(1, WRITER_MEMORY)?)
    }

    /// The index's one writer, for a search just opened. A search of this process that has
    /// just been dropped (a stack stopped and started again) lets go of it once its writer
    /// thread has made its last commit, within [`COMMIT_EVERY`] and the commit's time: a busy
    /// lock is asked for again for [`WRITER_WAIT`], then it is another process's.
    fn first_writer(&self) -> anyhow::Result<IndexWriter> {
        let deadline = std::time::Instant::now() + WRITER_WAIT;
        loop {
            match self.index.writer_with_num_threads(1, WRITER_MEMORY) {
                Err(tantivy::TantivyError::LockFailure(tantivy::directory::error::LockError::LockBusy, _))
                    if std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                writer => return Ok(writer?),
            }
        }
    }

    /// The revision of every product the index holds.
    fn revisions(&self) -> anyhow::Result<HashMap<ProductId, u64>> {
        let mut revisions = HashMap::new();
        for segment in self.reader.searcher().segment_readers() {
            let ids = segment.fast_fields().str("id")?.context("the id column")?;
            let column = segment.fast_fields().u64("revision")?;
            let mut id = String::new();
            for doc in segment.doc_ids_alive() {
                let (Some(ord), Some(revision)) = (ids.ords().first(doc), column.first(doc)) else { continue };
                ids.ord_to_str(ord, &mut id)?;
                revisions.insert(ProductId::parse(&id).map_err(|e| anyhow::anyhow!("{e}"))?, revision);
            }
        }
        Ok(revisions)
    }

    /// The words of `text` as the index holds them.
    fn words(&self, text: &str) -> Vec<String> {
        let mut analyser = analyser();
        let mut stream = analyser.token_stream(text);
        let mut words = Vec::new();
        while let Some(token) = stream.next() {
            words.push(token.text.clone());
        }
        words
    }

    /// The query matching `words`: each must match the name or (when `description`) the
    /// description, exactly, within [`edits`], or (the last) as a prefix.
    fn matching(&self, words: &[String], description: bool) -> Box<dyn Query> {
        if words.is_empty() {
            return Box::new(AllQuery);
        }
        let field_clause = |field: Field, word: &str, last: bool, exact: f32, near: f32| -> Box<dyn Query> {
            let term = Term::from_field_text(field, word);
            let mut ways: Vec<Box<dyn Query>> = vec![Box::new(ConstScoreQuery::new(
                Box::new(TermQuery::new(term.clone(), IndexRecordOption::Basic)),
                exact,
            ))];
            if edits(word) > 0 {
                let fuzzy = FuzzyTermQuery::new(term.clone(), edits(word), true);
                ways.push(Box::new(ConstScoreQuery::new(Box::new(fuzzy), near)));
            }
            if last {
                let prefix = FuzzyTermQuery::new_prefix(term, 0, true);
                ways.push(Box::new(ConstScoreQuery::new(Box::new(prefix), near)));
            }
            Box::new(DisjunctionMaxQuery::new(ways))
        };
        let clauses = words
            .iter()
            .enumerate()
            .map(|(i, word)| {
                let last = i + 1 == words.len();
                let mut either =
                    vec![(Occur::Should, field_clause(self.fields.name, word, last, NAME_EXACT, NAME_NEAR))];
                if description {
                    let clause = field_clause(self.fields.description, word, last, DESCRIPTION_EXACT, DESCRIPTION_NEAR);
                    either.push((Occur::Should, clause));
                }
                (Occur::Must, Box::new(BooleanQuery::new(either)) as Box<dyn Query>)
            })
            .collect();
        Box::new(BooleanQuery::new(clauses))
    }

    fn stored(&self, searcher: &Searcher, address: DocAddress) -> anyhow::Result<Product> {
        let doc: TantivyDocument = searcher.doc(address)?;
        let json = doc.get_first(self.fields.product).and_then(|v| v.as_str()).context("a stored product")?;
        Ok(serde_json::from_str(json)?)
    }

    fn search(&self, query: &SearchQuery) -> anyhow::Result<SearchResults> {
        let words = self.words(&query.text);
        let searcher = self.reader.searcher();
        let mut matching = self.matching(&words, true);
        if let Some(sku) = as_sku(&query.text) {
            let term = TermQuery::new(Term::from_field_text(self.fields.sku, &sku), IndexRecordOption::Basic);
            let by_sku: Box<dyn Query> = Box::new(ConstScoreQuery::new(Box::new(term), SKU_EXACT));
            matching = Box::new(BooleanQuery::new(vec![(Occur::Should, matching), (Occur::Should, by_sku)]));
        }
        let gathered = searcher.search(&*matching, &Gather::new(query))?;
        let highlighter = |field| {
            let terms: BTreeMap<String, f32> = words.iter().map(|w| (w.clone(), 1.0)).collect();
            SnippetGenerator::new(terms, analyser(), field, 200)
        };
        let (names, descriptions) = (highlighter(self.fields.name), highlighter(self.fields.description));
        let marked = |generator: &SnippetGenerator, text: &str| {
            let mut snippet = generator.snippet(text);
            snippet.set_snippet_prefix_postfix("<em>", "</em>");
            (!snippet.highlighted().is_empty()).then(|| snippet.to_html())
        };
        let items = gathered
            .page
            .into_iter()
            .map(|address| {
                let product = self.stored(&searcher, address)?;
                let highlight = Highlight {
                    name: marked(&names, product.name.as_str()),
                    description: marked(&descriptions, product.description.as_str()),
                };
                Ok(Hit { product, highlight })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(SearchResults { items, total: gathered.total, facets: gathered.tally.facets() })
    }

    fn suggest(&self, text: &str, limit: usize) -> anyhow::Result<Vec<Suggestion>> {
        let words = self.words(text);
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let query = SearchQuery { limit, ..SearchQuery::default() };
        let gathered = searcher.search(&*self.matching(&words, false), &Gather::new(&query))?;
        gathered
            .page
            .into_iter()
            .map(|address| {
                let product = self.stored(&searcher, address)?;
                Ok(Suggestion { text: product.name.to_string(), product_id: product.id })
            })
            .collect()
    }
}

type Reply = tokio::sync::oneshot::Sender<anyhow::Result<()>>;

/// The least time between two commits of the live index.
const COMMIT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// How long opening waits for a writer that is letting go of the index.
const WRITER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// What the writer thread is asked to do.
enum Job {
    Apply(Vec<Change>, Reply),
    Swap(Box<Filled>, Reply),
}

/// A rebuilt index, committed, with the revisions it holds.
struct Filled {
    live: Live,
    writer: IndexWriter,
    revisions: HashMap<ProductId, u64>,
}

/// The live index and its writer, owned by the writer thread.
struct Writer {
    root: PathBuf,
    shared: Arc<RwLock<Arc<Live>>>,
    live: Arc<Live>,
    writer: IndexWriter,
    revisions: HashMap<ProductId, u64>,
}

impl Writer {
    /// Does the jobs in the order they came. A commit costs the same for one change as for
    /// a hundred, so commits are at least [`COMMIT_EVERY`] apart: an apply that comes sooner
    /// waits out the rest, and every apply waiting then goes into the same commit (a change is
    /// searchable within that time, as OpenSearch's refresh makes it within a second).
    fn run(mut self, jobs: mpsc::Receiver<Job>) {
        let mut next = None;
        let mut committed: Option<std::time::Instant> = None;
        while let Some(job) = next.take().or_else(|| jobs.recv().ok()) {
            match job {
                Job::Apply(mut changes, done) => {
                    if let Some(at) = committed {
                        std::thread::sleep(COMMIT_EVERY.saturating_sub(at.elapsed()));
                    }
                    let mut waiting = vec![done];
                    while let Ok(job) = jobs.try_recv() {
                        match job {
                            Job::Apply(more, done) => {
                                changes.extend(more);
                                waiting.push(done);
                            }
                            other => {
                                next = Some(other);
                                break;
                            }
                        }
                    }
                    let applied = self.apply(&changes).map_err(|e| format!("{e:#}"));
                    committed = Some(std::time::Instant::now());
                    for done in waiting {
                        let _ = done.send(applied.clone().map_err(anyhow::Error::msg));
                    }
                }
                Job::Swap(filled, done) => {
                    let _ = done.send(self.swap(*filled));
                }
            }
        }
    }

    fn apply(&mut self, changes: &[Change]) -> anyhow::Result<()> {
        let fields = self.live.fields;
        let mut changed = false;
        for change in changes {
            let id = change.id();
            let held = self.revisions.get(&id).copied();
            let newer = match change {
                Change::Put(p) => held.is_none_or(|r| p.version > r),
                Change::Remove { revision, .. } => held.is_none_or(|r| *revision >= r),
            };
            if !newer {
                continue;
            }
            self.writer.delete_term(fields.id_term(&id));
            if let Change::Put(p) = change {
                self.writer.add_document(fields.document(p)?)?;
            }
            self.revisions.insert(id, change.revision());
            changed = true;
        }
        if changed {
            self.writer.commit()?;
            self.live.reader.reload()?;
        }
        Ok(())
    }

    fn swap(&mut self, filled: Filled) -> anyhow::Result<()> {
        let name = filled.live.folder.file_name().context("a folder name")?.to_owned();
        let pointer = self.root.join(CURRENT);
        let staged = self.root.join(format!("{CURRENT}.next"));
        std::fs::write(&staged, name.as_encoded_bytes())?;
        std::fs::rename(&staged, &pointer)?;
        let previous = std::mem::replace(&mut self.live, Arc::new(filled.live));
        self.writer = filled.writer;
        self.revisions = filled.revisions;
        *self.shared.write().expect("the live index lock") = self.live.clone();
        if let Err(e) = std::fs::remove_dir_all(&previous.folder) {
            tracing::warn!(error = %e, folder = %previous.folder.display(), "could not remove the replaced index");
        }
        Ok(())
    }
}

/// How [`TantivyIndex::open`] found the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// The index the data folder held.
    Existing,
    /// None was there, or it could not be read: an empty one was made, to be rebuilt.
    Empty,
}

/// The product index in a folder of its own.
pub struct TantivyIndex {
    root: PathBuf,
    live: Arc<RwLock<Arc<Live>>>,
    jobs: mpsc::Sender<Job>,
}

impl TantivyIndex {
    /// Opens the index under `root`, or makes an empty one there when it is missing or
    /// unreadable (the caller then rebuilds it: [`shop::search::reindex`]).
    pub fn open(root: &Path) -> anyhow::Result<(Self, Opened)> {
        std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        let existing = std::fs::read_to_string(root.join(CURRENT))
            .map_err(anyhow::Error::from)
            .and_then(|name| Live::open(root.join(name.trim())))
            .and_then(|live| Ok((live.revisions()?, live)));
        let (opened, revisions, live) = match existing {
            Ok((revisions, live)) => (Opened::Existing, revisions, live),
            Err(e) => {
                if root.join(CURRENT).exists() {
                    tracing::warn!(error = %e, "the search index is unreadable; starting an empty one");
                }
                let live = Live::create(new_folder(root))?;
                std::fs::write(root.join(CURRENT), live.folder.file_name().context("a folder")?.as_encoded_bytes())?;
                (Opened::Empty, HashMap::new(), live)
            }
        };
        // One writer per index: a second process (a running local stack) holds it.
        let writer =
            live.first_writer().with_context(|| format!("{} is in use by another process", live.folder.display()))?;
        let live = Arc::new(live);
        let shared = Arc::new(RwLock::new(live.clone()));
        let (jobs, queue) = mpsc::channel();
        let writer = Writer { root: root.to_owned(), shared: shared.clone(), live, writer, revisions };
        std::thread::Builder::new().name("search-writer".into()).spawn(move || writer.run(queue))?;
        Ok((Self { root: root.to_owned(), live: shared, jobs }, opened))
    }

    fn live(&self) -> Arc<Live> {
        self.live.read().expect("the live index lock").clone()
    }
}

/// Hands the writer thread a job and waits for its answer.
async fn ask(jobs: &mpsc::Sender<Job>, job: impl FnOnce(Reply) -> Job) -> anyhow::Result<()> {
    let (done, answer) = tokio::sync::oneshot::channel();
    let stopped = || anyhow::anyhow!("the search writer has stopped");
    jobs.send(job(done)).map_err(|_| stopped())?;
    answer.await.map_err(|_| stopped())?
}

fn new_folder(root: &Path) -> PathBuf {
    root.join(format!("index-{}", ulid::Ulid::new()))
}

/// Runs `work` on the live index off the async threads.
async fn blocking<T: Send + 'static>(
    live: Arc<Live>,
    work: impl FnOnce(&Live) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(move || work(&live)).await?
}

#[async_trait]
impl SearchIndex for TantivyIndex {
    async fn apply(&self, changes: &[Change]) -> anyhow::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        ask(&self.jobs, |done| Job::Apply(changes.to_vec(), done)).await
    }

    async fn search(&self, query: &SearchQuery) -> anyhow::Result<SearchResults> {
        let query = query.clone();
        blocking(self.live(), move |live| live.search(&query)).await
    }

    async fn suggest(&self, text: &str, limit: usize) -> anyhow::Result<Vec<Suggestion>> {
        let text = text.to_owned();
        blocking(self.live(), move |live| live.suggest(&text, limit)).await
    }

    async fn rebuild(&self) -> anyhow::Result<Box<dyn Rebuild + '_>> {
        let live = Live::create(new_folder(&self.root))?;
        let writer = live.writer()?;
        Ok(Box::new(TantivyRebuild {
            filled: Filled { live, writer, revisions: HashMap::new() },
            jobs: self.jobs.clone(),
        }))
    }
}

struct TantivyRebuild {
    filled: Filled,
    jobs: mpsc::Sender<Job>,
}

#[async_trait]
impl Rebuild for TantivyRebuild {
    async fn add(&mut self, products: &[Product]) -> anyhow::Result<()> {
        let fields = self.filled.live.fields;
        for p in products {
            if self.filled.revisions.insert(p.id, p.version).is_some() {
                self.filled.writer.delete_term(fields.id_term(&p.id));
            }
            self.filled.writer.add_document(fields.document(p)?)?;
        }
        Ok(())
    }

    async fn swap(mut self: Box<Self>) -> anyhow::Result<()> {
        self.filled.writer.commit()?;
        self.filled.live.reader.reload()?;
        let Self { filled, jobs } = *self;
        ask(&jobs, |done| Job::Swap(Box::new(filled), done)).await
    }
}
