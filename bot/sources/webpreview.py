"""Read a public channel's web preview page (https://t.me/s/<username>) into posts. Pure: no I/O.

The parser is selectolax (lexbor backend): a fast, lenient HTML5 parser that builds the same
tree a browser would from malformed or truncated markup, and takes CSS selectors, which is
how Telegram's widget classes (`.tgme_widget_message_text`, ...) are best addressed. lxml
would work too, but its HTML parser is libxml2's HTML 4 one and it is slower on these pages.

A post is read only if it has an id (`data-post="name/ID"`) and a date (`time[datetime]`,
in the footer after the text): a page cut off in the middle of a post loses that post, not
the ones before it, and never stores a half text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from selectolax.lexbor import LexborHTMLParser, LexborNode

from storage.models import MAX_POST_CHARS, IncomingPost


class PageKind(StrEnum):
    POSTS = "posts"  # the channel's preview, with message blocks
    EMPTY = "empty"  # the channel's preview, without any post
    NO_PREVIEW = "no_preview"  # Telegram's contact card: no such channel, private, or preview off
    UNRECOGNISED = "unrecognised"  # neither: malformed, or Telegram changed its markup


@dataclass(frozen=True, slots=True)
class PreviewPost:
    username: str  # as data-post spells it (the channel's own capitalisation)
    message_id: int
    posted_at: datetime  # UTC-aware
    text: str
    views: int | None = None  # approximate: the preview shows "1.2K"
    edited: bool = False  # the preview says "edited" but not when
    author: str | None = None
    forwarded_from: str | None = None
    forwarded_link: str | None = None
    reply_to: int | None = None
    media: str | None = None


@dataclass(frozen=True, slots=True)
class PreviewPage:
    kind: PageKind
    title: str = ""
    posts: tuple[PreviewPost, ...] = ()
    older: int | None = None  # the ?before= cursor of the next older page; None: no older posts
    skipped: int = 0  # message blocks without a readable id or date (cut off, malformed)


def parse_page(html: str, username: str | None = None) -> PreviewPage:
    """One preview page. With `username`, posts of any other channel are skipped."""
    tree = LexborHTMLParser(html)
    blocks = tree.css("div.tgme_widget_message[data-post]")
    if not blocks:
        return PreviewPage(kind=_kind_without_posts(tree), title=_title(tree))
    posts = [_post(block, username) for block in blocks]
    readable = tuple(p for p in posts if p is not None)
    return PreviewPage(
        kind=PageKind.POSTS,
        title=_title(tree),
        posts=readable,
        older=_older(tree),
        skipped=len(posts) - len(readable),
    )


def to_incoming(post: PreviewPost, chat_id: int, title: str, seen_at: datetime) -> IncomingPost:
    """The post as storage takes it. The preview marks edits without a time: an edited post
    gets the time it was seen, the latest moment the edit is known to have happened by."""
    return IncomingPost(
        chat_id=chat_id,
        message_id=post.message_id,
        posted_at=post.posted_at,
        text=post.text,
        channel_title=title,
        channel_username=post.username,
        edited_at=seen_at if post.edited else None,
        source="web",
        views=post.views,
        author=post.author,
        forwarded_from=post.forwarded_from,
        forwarded_link=post.forwarded_link,
        reply_to=post.reply_to,
        media=post.media,
    )


def _kind_without_posts(tree: LexborHTMLParser) -> PageKind:
    if tree.css_first(".tgme_channel_history") is not None:
        return PageKind.EMPTY
    if tree.css_first(".tgme_page, .tgme_page_title, .tgme_page_extra") is not None:
        return PageKind.NO_PREVIEW
    return PageKind.UNRECOGNISED


def _title(tree: LexborHTMLParser) -> str:
    node = tree.css_first(".tgme_channel_info_header_title") or tree.css_first(".tgme_header_title")
    if node is not None:
        return _squash(node.text(deep=True))
    meta = tree.css_first('meta[property="og:title"]')
    return _squash((meta.attributes.get("content") or "") if meta is not None else "")


def _older(tree: LexborHTMLParser) -> int | None:
    more = tree.css_first("a.tme_messages_more[data-before]")
    value = more.attributes.get("data-before") if more is not None else None
    if value is None:
        prev = tree.css_first('link[rel="prev"][href]')
        found = re.search(r"[?&]before=(\d+)", (prev.attributes.get("href") or "") if prev else "")
        value = found.group(1) if found else None
    return _message_id(value or "")


def _message_id(text: str) -> int | None:
    """A message id as the page writes it; None unless a positive int SQLite can store."""
    # The length check first: int() refuses strings of over 4300 digits (ValueError).
    ok = text.isascii() and text.isdigit() and len(text) <= 15 and int(text) > 0
    return int(text) if ok else None


def _post(block: LexborNode, username: str | None) -> PreviewPost | None:
    name, _, ident = (block.attributes.get("data-post") or "").rpartition("/")
    message_id = _message_id(ident)
    if not name or message_id is None:
        return None
    if username is not None and name.lower() != username.lower():
        return None
    posted_at = _posted_at(block)
    if posted_at is None:
        return None
    forwarded_from, forwarded_link = _forwarded(block)
    return PreviewPost(
        username=name,
        message_id=message_id,
        posted_at=posted_at,
        text=_message_text(block),
        views=parse_views(_text_of(block.css_first(".tgme_widget_message_views"))),
        edited=_edited(block),
        author=_text_of(block.css_first(".tgme_widget_message_from_author")) or None,
        forwarded_from=forwarded_from,
        forwarded_link=forwarded_link,
        reply_to=_reply_to(block),
        media=_media(block),
    )


def _posted_at(block: LexborNode) -> datetime | None:
    node = block.css_first(".tgme_widget_message_date time[datetime]") or block.css_first(
        "time[datetime]"
    )
    try:
        moment = datetime.fromisoformat((node.attributes.get("datetime") or "") if node else "")
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


_VIEWS = re.compile(r"(\d+(?:\.\d+)?)([KMB]?)")
_SCALE = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


def parse_views(label: str) -> int | None:
    """ "1.2K" -> 1200, "396" -> 396; None if the label is not a count."""
    found = _VIEWS.fullmatch(label.replace(",", "").replace(" ", "").upper())
    if found is None:
        return None
    try:
        return int(Decimal(found.group(1)) * _SCALE[found.group(2)])
    except InvalidOperation:
        return None


def _edited(block: LexborNode) -> bool:
    """ "edited" stands as bare text in the footer's meta, beside the author and the date."""
    meta = block.css_first(".tgme_widget_message_meta")
    if meta is None:
        return False
    own_text = "".join(c.text_content or "" for c in _children(meta) if c.tag == "-text")
    return "edited" in own_text.lower()


def _forwarded(block: LexborNode) -> tuple[str | None, str | None]:
    origin = block.css_first(".tgme_widget_message_forwarded_from")
    if origin is None:
        return None, None
    name_node = origin.css_first(".tgme_widget_message_forwarded_from_name")
    if name_node is None:
        return _squash(origin.text(deep=True)).removeprefix("Forwarded from").strip() or None, None
    link = name_node.attributes.get("href") if name_node.tag == "a" else None
    return _text_of(name_node) or None, link or None


def _reply_to(block: LexborNode) -> int | None:
    reply = block.css_first("a.tgme_widget_message_reply[href]")
    found = re.search(r"/(\d+)(?:[?#]|$)", (reply.attributes.get("href") or "") if reply else "")
    return _message_id(found.group(1)) if found else None


# Most telling first: a grouped post with photos and a video is a "video" post.
_MEDIA = (
    ("poll", ".tgme_widget_message_poll"),
    ("video_note", ".tgme_widget_message_roundvideo_player, .tgme_widget_message_roundvideo"),
    ("voice", ".tgme_widget_message_voice_player, .tgme_widget_message_voice"),
    ("sticker", ".tgme_widget_message_sticker_wrap, .tgme_widget_message_tgsticker"),
    ("video", ".tgme_widget_message_video_player"),
    ("photo", ".tgme_widget_message_photo_wrap"),
    ("document", ".tgme_widget_message_document_wrap"),
    ("location", ".tgme_widget_message_location_wrap"),
)


def _media(block: LexborNode) -> str | None:
    """The kind of media a post carries, named as the Bot API names it (bot.ingest)."""
    for kind, selector in _MEDIA:
        node = next((n for n in block.css(selector) if not _in_reply(n, block)), None)
        if node is None:
            continue
        if kind == "video" and node.css_first(".message_video_duration") is None:
            return "animation"  # GIFs play muted in a loop, with no duration shown
        return kind
    bubble_children = _children(block.css_first(".tgme_widget_message_bubble"))
    if any(_has_class(c, "message_media_not_supported_wrap") for c in bubble_children):
        return "other"  # shown only as "Please open Telegram to view this post"
    return None


def _message_text(block: LexborNode) -> str:
    """The post's text: links keep their URL ("label (https://...)"), <br> becomes a newline."""
    for node in block.css(".tgme_widget_message_text"):
        if _has_class(node, "js-message_reply_text") or _in_reply(node, block):
            continue  # the quoted text of the post this one replies to
        parts: list[str] = []
        _render(node, parts)
        lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
        return "\n".join(lines).strip()[:MAX_POST_CHARS]
    return ""


_SKIP = frozenset({"script", "style", "-comment", "template"})


def _render(node: LexborNode, out: list[str]) -> None:
    for child in _children(node):
        if child.tag == "-text":
            out.append(re.sub(r"\s+", " ", child.text_content or ""))
        elif child.tag == "br":
            out.append("\n")
        elif child.tag == "a":
            out.append(_link_text(child))
        elif child.tag not in _SKIP:
            _render(child, out)


def _link_text(link: LexborNode) -> str:
    label = _squash(link.text(deep=True))
    href = (link.attributes.get("href") or "").strip()
    if not href.lower().startswith(("http://", "https://")):
        return label  # hashtags (?q=%23tag) and other in-page links
    if not label:
        return href
    if label.endswith("…") and _bare(href).startswith(_bare(label[:-1])):
        return href  # a shortened URL: the whole one says more
    if _bare(label) == _bare(href) or _is_mention_of(label, href):
        return label
    return f"{label} ({href})"


def _bare(url: str) -> str:
    return re.sub(r"^(?:https?://)?(?:www\.)?", "", url.strip().lower()).rstrip("/")


def _is_mention_of(label: str, href: str) -> bool:
    return label.startswith("@") and _bare(href) in {
        f"t.me/{label[1:].lower()}",
        f"telegram.me/{label[1:].lower()}",
    }


def _children(node: LexborNode | None) -> list[LexborNode]:
    found = []
    child = node.child if node is not None else None
    while child is not None:
        found.append(child)
        child = child.next
    return found


def _has_class(node: LexborNode, name: str) -> bool:
    return name in (node.attributes.get("class") or "").split()


def _in_reply(node: LexborNode, block: LexborNode) -> bool:
    parent = node.parent
    while parent is not None and parent.mem_id != block.mem_id:
        if _has_class(parent, "tgme_widget_message_reply"):
            return True
        parent = parent.parent
    return False


def _text_of(node: LexborNode | None) -> str:
    return _squash(node.text(deep=True)) if node is not None else ""


def _squash(text: str) -> str:
    return " ".join(text.split())
