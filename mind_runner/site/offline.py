"""Make the site `asv publish` writes work with no network.

asv 0.6's index.html loads jQuery, flot, bootstrap and three small plugins from
CDNs, so on a machine without internet the site shows only asv's error page. The
same releases are on npm: `npm pack` fetches each once into a cache, the files
asv's pages load are copied into `html/vendor/<package>@<version>/`, and the
<script>/<link> tags are pointed at them. Where npm's file is byte-identical to the
CDN's, asv's integrity (SRI) hash stays on the tag and is checked here first; where
it is not (npm has no minified flot, and no stupidtable 1.0.1), the tag loses its
integrity attributes rather than carry a hash its file cannot match.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

from mind_runner.util.errors import UserError
from mind_runner.util.files import write_atomically

ASV_VERSION = "0.6.6"
VENDOR_DIR = "vendor"
# Attributes that only make sense for a cross-origin load with a known hash.
_CROSS_ORIGIN_ATTRIBUTES = ("integrity", "crossorigin", "referrerpolicy")


@dataclass(frozen=True)
class Asset:
    """One external file asv's index.html loads, and where npm has the same release."""

    url: str
    package: str
    version: str
    member: str
    # npm's file is the CDN's byte for byte, so asv's SRI hash must match it.
    identical: bool
    # Further files of the package this one refers to (bootstrap's css -> fonts).
    companions: tuple[str, ...] = ()

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"

    @property
    def local_path(self) -> str:
        """Where the file goes, relative to the site root (keeps the package layout)."""
        return f"{VENDOR_DIR}/{self.spec}/{self.member}"


_CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"
_JSDELIVR = "https://cdn.jsdelivr.net/npm"
_FONTS = tuple(
    f"dist/fonts/glyphicons-halflings-regular.{ext}" for ext in ("eot", "svg", "ttf", "woff")
)

# asv 0.6.6's index.html, tag by tag. Another asv release loads other URLs: they
# are refused (see `UnknownAsset`) rather than guessed.
ASSETS: tuple[Asset, ...] = (
    Asset(
        "https://code.jquery.com/jquery-3.3.1.min.js",
        "jquery", "3.3.1", "dist/jquery.min.js", identical=True,
    ),
    # cdnjs serves flot 0.8.3 minified; npm's flot 0.8.3 has the same code unminified.
    Asset(
        f"{_CDNJS}/flot/0.8.3/jquery.flot.min.js",
        "flot", "0.8.3", "jquery.flot.js", identical=False,
    ),
    Asset(
        f"{_CDNJS}/flot/0.8.3/jquery.flot.time.min.js",
        "flot", "0.8.3", "jquery.flot.time.js", identical=False,
    ),
    Asset(
        f"{_CDNJS}/flot/0.8.3/jquery.flot.selection.min.js",
        "flot", "0.8.3", "jquery.flot.selection.js", identical=False,
    ),
    Asset(
        f"{_CDNJS}/flot/0.8.3/jquery.flot.categories.min.js",
        "flot", "0.8.3", "jquery.flot.categories.js", identical=False,
    ),
    Asset(
        f"{_JSDELIVR}/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js",
        "flot-orderbars", "1.0.0", "js/jquery.flot.orderBars.js", identical=True,
    ),
    # Stupid-Table-Plugin's first npm release is 1.1.3 (its changelog: 1.0.x -> 1.1.3
    # only adds settings and multi-column sort; asv calls stupidtable()/stupidsort()).
    Asset(
        f"{_CDNJS}/stupidtable/1.0.1/stupidtable.min.js",
        "stupid-table-plugin", "1.1.3", "stupidtable.min.js", identical=False,
    ),
    Asset(
        f"{_CDNJS}/blueimp-md5/2.19.0/js/md5.min.js",
        "blueimp-md5", "2.19.0", "js/md5.min.js", identical=True,
    ),
    Asset(
        f"{_JSDELIVR}/bootstrap@3.1.1/dist/js/bootstrap.min.js",
        "bootstrap", "3.1.1", "dist/js/bootstrap.min.js", identical=True,
    ),
    Asset(
        f"{_JSDELIVR}/bootstrap@3.1.1/dist/css/bootstrap.min.css",
        "bootstrap", "3.1.1", "dist/css/bootstrap.min.css", identical=True, companions=_FONTS,
    ),
)  # fmt: skip

# npm's own `dist.integrity` of each tarball: a cached or freshly packed tarball
# must be exactly the release the table above was checked against.
TARBALL_INTEGRITY = {
    "jquery@3.3.1": (
        "sha512-"
        "Ubldcmxp5np52/ENotGxlLe6aGMvmF4R8S6tZjsP6Knsaxd/xp3Zrh50cG93lR6nPXyUFwzN3ZSOQI0wRJNdGg=="
    ),
    "flot@0.8.3": (
        "sha512-"
        "xg2otcTJDvS+ERK+my4wxG/ASq90QURXtoM4LhacCq0jQW2jbyjdttbRNqU2cPykrpMvJ6b2uSp6SAgYAzj9tQ=="
    ),
    "flot-orderbars@1.0.0": (
        "sha512-"
        "Jv51fvzevUjNXEeozpwEKfPjhiZhfiJddv0WHjduUTCmSF+7T5K7C9c9Y1wIVmUhDBv5fLMjgbwKecT0GIKPZA=="
    ),
    "stupid-table-plugin@1.1.3": (
        "sha512-"
        "2Vk7XouQPxUQPRe9w0Fu7ZZ8kHLK7rDoLMsCgtKxRNJ7f4dSOGvW9CkHsq5wD6QsaEnWoyLBYH3xOEsrK3yWBg=="
    ),
    "blueimp-md5@2.19.0": (
        "sha512-"
        "DRQrD6gJyy8FbiE4s+bDoXS9hiW3Vbx5uCdwvcCf3zLHL+Iv7LtGHLpr+GZV8rHG8tK766FGYBwRbu8pELTt+w=="
    ),
    "bootstrap@3.1.1": (
        "sha512-"
        "TAzqS8E/ISpVHP29gYhy+1NSV+FJwApDVQhDfgLYsIuUDJiqJzH2DfORN5tiu+Ie2iBLrzEG34t4Rf465cigqg=="
    ),
}

_BY_URL = {asset.url: asset for asset in ASSETS}


@dataclass(frozen=True)
class OfflineSite:
    """What `make_offline` did: the files it vendored and the pages it rewrote."""

    html_dir: Path
    vendored: tuple[Asset, ...]
    pages: tuple[Path, ...]

    def summary(self) -> str:
        packages = sorted({asset.spec for asset in self.vendored})
        where = self.html_dir / VENDOR_DIR
        if not packages:
            return f"offline site: {self.html_dir} already loads nothing from the network"
        return (
            f"offline site: {len(self.vendored)} files from npm ({', '.join(packages)}) in {where}"
        )


# --------------------------------------------------------------------------------------
# Reading tags


class _Tags(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def _tags(text: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Tags()
    parser.feed(text)
    parser.close()
    return parser.tags


# Attributes through which a page makes the browser fetch something by itself
# (an <a href> is a link the user may follow, not something the page needs).
_LOADING_ATTRIBUTES = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src",),
    "iframe": ("src",),
    "source": ("src",),
    "embed": ("src",),
    "object": ("data",),
}


def is_remote(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") or url.startswith("//")


def loaded_urls(page: Path) -> Iterator[str]:
    """URLs the page itself loads (scripts, stylesheets, icons, images)."""
    for tag, attrs in _tags(page.read_text(encoding="utf-8")):
        for attribute in _LOADING_ATTRIBUTES.get(tag, ()):
            if attrs.get(attribute):
                yield attrs[attribute]


def remote_references(html_dir: Path) -> list[str]:
    """Every network URL a page or a vendored stylesheet of the site would fetch."""
    found: list[str] = []
    for page in sorted(html_dir.glob("*.html")):
        found += [f"{page.name}: {url}" for url in loaded_urls(page) if is_remote(url)]
    vendor = html_dir / VENDOR_DIR
    for sheet in sorted(vendor.rglob("*.css")) if vendor.is_dir() else []:
        for url in _css_urls(sheet.read_text(encoding="utf-8", errors="replace")):
            if is_remote(url):
                found.append(f"{sheet.relative_to(html_dir)}: {url}")
    return found


def _css_urls(css: str) -> Iterator[str]:
    start = 0
    while (index := css.find("url(", start)) != -1:
        end = css.find(")", index)
        if end == -1:
            return
        yield css[index + 4 : end].strip().strip("'\"")
        start = end + 1


# --------------------------------------------------------------------------------------
# Fetching from npm


def _sri(data: bytes, algorithm: str) -> str:
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm}-{base64.b64encode(digest).decode()}"


def _matches_sri(data: bytes, integrity: str) -> bool:
    """True if any of the hashes in an `integrity` attribute matches `data`."""
    for token in integrity.split():
        algorithm = token.split("-", 1)[0]
        if algorithm in ("sha256", "sha384", "sha512") and _sri(data, algorithm) == token:
            return True
    return False


def _tarball_name(spec: str) -> str:
    package, version = spec.rsplit("@", 1)
    return f"{package.lstrip('@').replace('/', '-')}-{version}.tgz"


def fetch_tarball(spec: str, cache_dir: Path) -> Path:
    """The npm tarball of `spec`, from the cache or `npm pack`, checked against its pin."""
    expected = TARBALL_INTEGRITY[spec]
    tarball = cache_dir / _tarball_name(spec)
    if tarball.is_file() and _matches_sri(tarball.read_bytes(), expected):
        return tarball
    npm = shutil.which("npm")
    if npm is None:
        raise UserError(
            f"npm not found: the offline site needs it once to fetch {spec} into {cache_dir} "
            "(install Node.js with npm, e.g. `apt-get install -y npm`)"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [npm, "pack", spec, "--pack-destination", str(cache_dir), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        lines = [line for line in completed.stderr.splitlines() if "npm error" in line]
        reason = lines[-1] if lines else f"exit {completed.returncode}"
        raise UserError(
            f"`npm pack {spec}` failed ({reason.strip()}): the offline site needs the npm "
            f"registry once, or a filled {cache_dir} copied from a machine that has one"
        )
    try:
        packed = json.loads(completed.stdout)[0]["filename"]
    except (ValueError, LookupError, TypeError):
        packed = tarball.name
    packed_path = cache_dir / Path(str(packed)).name
    if packed_path != tarball and packed_path.is_file():
        packed_path.replace(tarball)
    if not tarball.is_file() or not _matches_sri(tarball.read_bytes(), expected):
        raise UserError(
            f"{tarball} is not npm's {spec} (integrity differs from {expected[:20]}...): "
            "delete it and publish again"
        )
    return tarball


# Copied beside the files too, where a package has them: the libraries' licences.
_LICENCE_FILES = {"LICENSE", "LICENSE.txt", "LICENSE.md", "package.json"}


def _read_members(tarball: Path, members: set[str]) -> dict[str, bytes]:
    """Files of an npm tarball (entries start with `package/`), and its licence files."""
    found: dict[str, bytes] = {}
    with tarfile.open(tarball, "r:gz") as archive:
        for info in archive.getmembers():
            name = info.name.split("/", 1)[1] if "/" in info.name else info.name
            if info.isfile() and (name in members or name in _LICENCE_FILES):
                handle = archive.extractfile(info)
                if handle is not None:
                    found[name] = handle.read()
    missing = sorted(members - set(found))
    if missing:
        raise UserError(f"{tarball.name} has no {', '.join(missing)}: is the cache corrupt?")
    return found


# --------------------------------------------------------------------------------------
# Rewriting the pages


def _strip_attribute(tag: str, name: str) -> str:
    """The tag text without attribute `name` (asv writes them as name="value")."""
    marker = f' {name}="'
    start = tag.find(marker)
    if start == -1:
        return tag
    end = tag.index('"', start + len(marker))
    return tag[:start] + tag[end + 1 :]


def _rewrite_tag(tag: str, asset: Asset, attrs: dict[str, str], data: bytes) -> str:
    integrity = attrs.get("integrity", "")
    if asset.identical and integrity and not _matches_sri(data, integrity):
        raise UserError(
            f"npm's {asset.spec} {asset.member} does not match the integrity hash asv's "
            f"page gives for {asset.url}: install asv=={ASV_VERSION}"
        )
    rewritten = tag.replace(f'"{asset.url}"', f'"{asset.local_path}"')
    if not asset.identical:
        for name in _CROSS_ORIGIN_ATTRIBUTES:
            rewritten = _strip_attribute(rewritten, name)
    return rewritten


def _page_assets(text: str, page: Path) -> list[Asset]:
    """The known external files a page loads; an unknown one is an error."""
    assets: list[Asset] = []
    for tag, attrs in _tags(text):
        for attribute in _LOADING_ATTRIBUTES.get(tag, ()):
            url = attrs.get(attribute, "")
            if not is_remote(url):
                continue
            asset = _BY_URL.get(url)
            if asset is None:
                raise UserError(
                    f"{page.name} loads {url}, which the offline site does not know: "
                    f"mind_runner.site.offline knows asv {ASV_VERSION}'s libraries "
                    f"(pip install asv=={ASV_VERSION})"
                )
            assets.append(asset)
    return assets


_LOADING_TAG = re.compile(r"<(?:script|link|img|iframe|source|embed|object)\b[^>]*>", re.I)


def _rewrite_page(text: str, files: dict[Asset, bytes]) -> str:
    """Point every tag that loads a vendored URL at the local copy."""

    def rewrite(match: re.Match[str]) -> str:
        tag = match.group(0)
        for name, attrs in _tags(tag)[:1]:
            for attribute in _LOADING_ATTRIBUTES.get(name, ()):
                asset = _BY_URL.get(attrs.get(attribute, ""))
                if asset is not None:
                    return _rewrite_tag(tag, asset, attrs, files[asset])
        return tag

    return _LOADING_TAG.sub(rewrite, text)


def _check_vendored_references(html_dir: Path) -> None:
    """Every vendored file the pages load exists under the site root."""
    for page in sorted(html_dir.glob("*.html")):
        for url in loaded_urls(page):
            path = urldefrag(url).url.split("?", 1)[0]
            if path.startswith(f"{VENDOR_DIR}/") and not (html_dir / path).is_file():
                raise UserError(f"{page.name} loads {url}, missing from {html_dir}")


def make_offline(html_dir: Path, cache_dir: Path) -> OfflineSite:
    """Vendor the libraries asv's pages load from CDNs and point the pages at them.

    Idempotent: a page already rewritten loads nothing remote and is left as is.
    """
    pages = sorted(html_dir.glob("*.html"))
    if not (html_dir / "index.html").is_file():
        raise UserError(f"{html_dir} has no index.html: run `python -m mind_runner publish`")
    texts = {page: page.read_text(encoding="utf-8") for page in pages}
    needed: list[Asset] = []
    for page, text in texts.items():
        needed += [asset for asset in _page_assets(text, page) if asset not in needed]

    files: dict[Asset, bytes] = {}
    for spec in sorted({asset.spec for asset in needed}):
        of_package = [asset for asset in needed if asset.spec == spec]
        members = {m for a in of_package for m in (a.member, *a.companions)}
        contents = _read_members(fetch_tarball(spec, cache_dir), members)
        for name, data in contents.items():
            destination = html_dir / VENDOR_DIR / spec / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(data)
        for asset in of_package:
            files[asset] = contents[asset.member]

    rewritten: list[Path] = []
    for page, text in texts.items():
        new_text = _rewrite_page(text, files)
        if new_text != text:
            write_atomically(page, new_text)
            rewritten.append(page)

    remaining = remote_references(html_dir)
    if remaining:
        raise UserError(f"the site still loads from the network: {'; '.join(remaining)}")
    _check_vendored_references(html_dir)
    return OfflineSite(html_dir=html_dir, vendored=tuple(needed), pages=tuple(rewritten))
