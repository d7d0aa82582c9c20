"""Catalogue tables, following the core metadata of 《政务信息资源目录编制指南（试行）》.

`Department` and `Dataset` hold the catalogue as published (field meanings: data/catalog/README.md).
`DatasetFormat` normalises the format list so that format filters and facets are plain indexed SQL.
`SearchDoc` is the search-index entry of a dataset: its text pre-segmented by `catalog_index.analysis`
(space-separated tokens per field).  On SQLite an external-content FTS5 table `dataset_fts` is kept in step
with `search_docs` by triggers (migration 0001_catalog); see `catalog_index.search` for the PostgreSQL design.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import relationship

from database import Base

OPEN_TYPES = ("无条件开放", "有条件开放", "不予开放")
SHARE_TYPES = ("无条件共享", "有条件共享", "不予共享")
FORMATS = ("CSV", "XLSX", "JSON", "XML", "API")
UPDATE_FREQUENCIES = ("实时", "每日", "每周", "每月", "每季度", "每年", "不定期")
CATEGORIES = (
    "交通出行", "医疗卫生", "教育科技", "社会保障", "生态环境", "城建住房", "公共安全", "文化旅游", "财税金融",
    "农业农村", "经济发展", "企业服务", "民生服务", "资源能源", "市场监管", "信用服务", "机构团体", "地理空间",
)
DISTRICTS = (
    "市本级", "南明区", "云岩区", "花溪区", "乌当区", "白云区", "观山湖区", "清镇市", "修文县", "息烽县", "开阳县",
)


class Department(Base):
    __tablename__ = "departments"

    code = Column(String(32), primary_key=True)
    name = Column(String(200), nullable=False, unique=True)
    short_names = Column(JSON, nullable=False, default=list)

    datasets = relationship("Dataset", back_populates="department", passive_deletes=True)

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "short_names": list(self.short_names or [])}


class Dataset(Base):
    __tablename__ = "datasets"

    id = Column(String(64), primary_key=True)
    title = Column(String(500), nullable=False)
    description = Column(Text, nullable=False, default="")
    department_code = Column(String(32), ForeignKey("departments.code"), nullable=False, index=True)
    category = Column(String(32), nullable=False, index=True)
    keywords = Column(JSON, nullable=False, default=list)
    fields = Column(JSON, nullable=False, default=list)
    formats = Column(JSON, nullable=False, default=list)
    share_type = Column(String(16), nullable=False, index=True)
    share_condition = Column(Text, nullable=False, default="")
    open_type = Column(String(16), nullable=False, index=True)
    open_condition = Column(Text, nullable=False, default="")
    update_frequency = Column(String(16), nullable=False)
    record_count = Column(BigInteger, nullable=False, default=0)
    district = Column(String(32), nullable=False, index=True)
    has_api = Column(Boolean, nullable=False, default=False, index=True)
    published = Column(Date, nullable=True)
    updated = Column(Date, nullable=True, index=True)

    department = relationship("Department", back_populates="datasets")
    format_rows = relationship("DatasetFormat", cascade="all, delete-orphan", passive_deletes=True)
    search_doc = relationship("SearchDoc", uselist=False, cascade="all, delete-orphan", passive_deletes=True)


class DatasetFormat(Base):
    __tablename__ = "dataset_formats"

    dataset_id = Column(String(64), ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    format = Column(String(16), primary_key=True, index=True)


class SearchDoc(Base):
    """Pre-segmented text of one dataset (the portable half of the search index)."""

    __tablename__ = "search_docs"

    rowid = Column(Integer, primary_key=True, autoincrement=True)  # = dataset_fts rowid
    dataset_id = Column(String(64), ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False, unique=True)
    title_norm = Column(String(500), nullable=False)  # normalised title, for exact/phrase matches
    title = Column(Text, nullable=False, default="")
    keywords = Column(Text, nullable=False, default="")
    department = Column(Text, nullable=False, default="")
    description = Column(Text, nullable=False, default="")
    fields = Column(Text, nullable=False, default="")
    fuzzy = Column(Text, nullable=False, default="")  # pinyin of title/keyword words: typo & homophone recall


class DatasetVector(Base):
    """The sentence embedding of a dataset's text (`catalog_index.vectors`; migration 0006_dataset_vectors):
    int8 codes with one scale (vector ≈ codes * scale), the embedder's name and a hash of the encoded text,
    so that a changed text or model is re-encoded."""

    __tablename__ = "dataset_vectors"

    dataset_id = Column(String(64), ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    model = Column(String(200), nullable=False)
    text_hash = Column(String(40), nullable=False)  # sha1 of the encoded text
    scale = Column(Float, nullable=False)
    vector = Column(LargeBinary, nullable=False)  # dim int8 values


class CatalogVersion(Base):
    """One row: `version` is raised by triggers with every catalogue change (migration 0004_search_speed);
    `token` is random per database.  Per-process search caches are keyed by (token, version)."""

    __tablename__ = "catalog_version"

    id = Column(Integer, primary_key=True)
    version = Column(BigInteger, nullable=False)
    token = Column(String(32), nullable=False)
