"""Customer sign-off for one signed-in user (``Session.signoff``).

Rules (``core/policy.py``): vendor staff who are members of a resolved case's chat ask for sign-off; only the
case's customers who are members of that chat sign, and only while the case is resolved. Signing closes the case
and seals a bundle (``bundle.py``) stored as two files of the chat, all in one transaction: the sign-off row, the
close (with its notice and events), the files and their messages appear together or not at all, and content put
in the blob store for a failed attempt is removed again. A later change to the case never touches a sealed
bundle (content-addressed blobs, a sealed row is never updated); a reopen, a new resolve and a new sign-off make
the next version.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import datetime

from conferencing_widgets.cases import store as case_store
from conferencing_widgets.cases.clocks import case_clocks
from conferencing_widgets.cases.service import CaseService
from conferencing_widgets.chat.service import Service
from conferencing_widgets.core import policy
from conferencing_widgets.core.errors import ConferencingError, InvalidInput, LimitExceeded, NotFound, PermissionDenied
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Attachment, CaseStatus, Conversation, ServiceCase
from conferencing_widgets.files.service import FileService
from conferencing_widgets.signoff import bundle as bundle_mod
from conferencing_widgets.signoff import store as so_store
from conferencing_widgets.signoff.signature import clean_name, clean_strokes, signature_png
from conferencing_widgets.signoff.store import SignoffRecord
from conferencing_widgets.store import utcnow
from conferencing_widgets.store.blobs import StagedBlob
from conferencing_widgets.transcript import render as transcript

MAX_SUMMARY = 1000
"""Longest summary staff may write for the customer, in characters."""


@dataclass(frozen=True, kw_only=True)
class SealedSignoff:
    """A signed sign-off: its row and the bundle's two files."""

    record: SignoffRecord
    bundle: Attachment
    manifest: Attachment


class SignoffService:
    """Sign-off requests, signing and sealed bundles for one user."""

    def __init__(self, chat: Service, cases: CaseService, files: FileService) -> None:
        self.chat = chat
        self.cases = cases
        self.files = files
        self.store = chat.store

    # -- reading ------------------------------------------------------------------------------------------

    def _case_chat(self, conversation_id: int) -> tuple[Conversation, ServiceCase]:
        conv = self.chat.require_readable(conversation_id)
        if conv.case_id is None:
            raise InvalidInput(_("Sign-off belongs to service case chats; open the case's chat."))
        return conv, self.chat.case(conv.case_id)

    def pending(self, conversation_id: int) -> SignoffRecord | None:
        """The open sign-off request of this chat's case, when this user may see it (members of its chat)."""
        conv, case = self._case_chat(conversation_id)
        found = so_store.pending(self.store, case.id)
        if found is None or found.conversation_id != conv.id:
            return None
        return found

    def may_sign(self, conversation_id: int) -> bool:
        """Whether the panel should offer this user to sign now."""
        try:
            conv, case = self._case_chat(conversation_id)
        except ConferencingError:
            return False
        found = so_store.pending(self.store, case.id)
        return (
            found is not None
            and found.conversation_id == conv.id
            and policy.can_sign_off(self.chat.user, case, is_member=self.chat.login in conv.members)
        )

    def may_request(self, conversation_id: int) -> bool:
        """Whether the "ask for sign-off" button should show for this user."""
        try:
            conv, case = self._case_chat(conversation_id)
        except ConferencingError:
            return False
        return policy.can_request_signoff(self.chat.user, case, is_member=self.chat.login in conv.members)

    def signoffs(self, case_id: int) -> list[SignoffRecord]:
        """The signed versions of a case this user may see, oldest first."""
        case = self.chat.case(case_id)
        out = []
        for rec in so_store.signoffs(self.store, case.id):
            if not rec.signed:
                continue
            try:
                self.chat.require_readable(rec.conversation_id)
            except NotFound:
                continue  # a chat of the case this user is not in
            out.append(rec)
        return out

    # -- asking -------------------------------------------------------------------------------------------

    def request(self, conversation_id: int, summary: str = "", *, at: datetime | None = None) -> SignoffRecord:
        """Ask the customer to confirm the repair (vendor staff, a member of this resolved case's chat).

        ``at`` backdates the request (the demo's timelines only)."""
        user = self.chat.require_active()
        conv, case = self._case_chat(conversation_id)
        if not policy.can_request_signoff(user, case, is_member=self.chat.login in conv.members):
            if not user.is_vendor_staff:
                raise PermissionDenied(_("Only the vendor's staff ask for sign-off."))
            if case.status is not CaseStatus.RESOLVED:
                raise PermissionDenied(_("Mark the case resolved before asking for sign-off."))
            raise PermissionDenied(_("Join this chat to ask for sign-off."))
        text = " ".join(str(summary or "").split()) or case.name
        if len(text) > MAX_SUMMARY:
            raise LimitExceeded(_("The summary is longer than {n} characters; shorten it.").format(n=MAX_SUMMARY))
        notice = _("{name} asked the customer to confirm the repair.").format(name=user.display_name)
        return so_store.request(
            self.store, case_id=case.id, conversation_id=conv.id, summary=text, by=user.login, notice=notice, at=at
        )

    # -- signing ------------------------------------------------------------------------------------------

    def sign(
        self, conversation_id: int, *, name: str, strokes: object, at: datetime | None = None
    ) -> SealedSignoff:
        """Sign the repair off: checks first (nothing written on any error), then one transaction.

        ``at`` backdates the signature (the demo's timelines only)."""
        user = self.chat.require_active()
        points = clean_strokes(strokes)
        signer_name = clean_name(name)
        conv, case = self._case_chat(conversation_id)
        is_member = self.chat.login in conv.members
        if not policy.can_sign_off(user, case, is_member=is_member):
            if user.is_vendor_staff:
                raise PermissionDenied(_("Only the customer signs off the repair."))
            if case.status is CaseStatus.CLOSED:
                raise PermissionDenied(
                    _("This case is closed. It can be signed again only after it is reopened and resolved.")
                )
            if case.status is not CaseStatus.RESOLVED:
                raise PermissionDenied(_("The case is not resolved; there is nothing to sign yet."))
            raise PermissionDenied(_("Join this chat to sign off the repair."))
        request = so_store.pending(self.store, case.id)
        if request is None or request.conversation_id != conv.id:
            raise InvalidInput(_("No sign-off was asked for in this chat; ask the vendor's technician."))
        png = signature_png(points)
        staged: list[StagedBlob] = []
        stored: list[str] = []
        try:
            return self._seal(user.login, conv, case, request, signer_name, png, staged, stored, at)
        except BaseException:
            self.files.discard_staged(staged, stored)  # put in place for a transaction that rolled back
            raise

    def _seal(
        self,
        login: str,
        conv: Conversation,
        case: ServiceCase,
        request: SignoffRecord,
        signer_name: str,
        png: bytes,
        staged: list[StagedBlob],
        stored: list[str],
        at: datetime | None,
    ) -> SealedSignoff:
        now = at or utcnow()
        notice = _("{name} confirmed the repair: the case is closed.").format(name=signer_name)
        with self.store.atomic() as conn:
            change = case_store.set_status(
                self.store,
                case.id,
                expected=CaseStatus.RESOLVED,
                new=CaseStatus.CLOSED,
                by=login,
                notice=notice,
                at=now,
            )
            if change is None:
                raise InvalidInput(_("Someone changed this case's status just now. Look again and retry."))
            # Read inside the transaction: the record shows exactly what this sign-off commits (the close too).
            data = self._bundle_input(case, request, signer_name, png)
            sealed = bundle_mod.build(data)
            attachments = [
                # The files service checks no rights here: ``sign`` checked this customer's own rights above.
                self.files.store_bytes_checked_by_caller(
                    conv.id, name, body, media_type, staged=staged, stored=stored, at=now
                )
                for name, body, media_type in (
                    (sealed.html_name, sealed.html, "text/html"),
                    (sealed.manifest_name, sealed.manifest, "application/json"),
                )
            ]
            if not so_store.seal(
                conn,
                request.id,
                signed_by=login,
                signer_name=signer_name,
                signed_at=now,
                signature_sha256=hashlib.sha256(png).hexdigest(),
                bundle_attachment_id=attachments[0].id,
                manifest_attachment_id=attachments[1].id,
            ):
                raise InvalidInput(_("This sign-off was signed just now. Look again."))
        return SealedSignoff(
            record=next(r for r in so_store.signoffs(self.store, case.id) if r.id == request.id),
            bundle=attachments[0],
            manifest=attachments[1],
        )

    def _bundle_input(
        self, case: ServiceCase, request: SignoffRecord, signer_name: str, png: bytes
    ) -> bundle_mod.BundleInput:
        store = self.store
        convs = []
        for c in store.conversations_of_case(case.id):
            with contextlib.suppress(NotFound):
                convs.append(self.chat.require_readable(c.id))
        case = store.get_case(case.id)
        history = case_store.status_history(store, [case.id])[case.id]
        settings = self.chat.settings
        clocks = case_clocks(
            status=case.status,
            posts=case_store.posts(store, [case.id])[case.id],
            changes=history,
            now=history[-1].at,
            created_at=case.created_at,
            targets=settings.targets().get(case.priority.value),
            hours=settings.hours(),
        )
        files = so_store.listed_files(store, [c.id for c in convs])
        logins = {request.requested_by, *(f.uploader for f in files), *(h.by for h in history)}
        return bundle_mod.BundleInput(
            case=case,
            customer_name=self.chat.group(case.group_id).name,
            version=request.version,
            summary=request.summary,
            requested_by=request.requested_by,
            signer=self.chat.user,
            signer_name=signer_name,
            signed_at=history[-1].at,
            signature_png=png,
            transcript_html=transcript.for_service(self.chat, case.number, fmt="html"),
            files=files,
            conversation_titles={c.id: c.title for c in convs},
            history=history,
            clocks=clocks,
            people={u.login: u.display_name for u in store.users(logins=logins)},
        )


__all__ = ["MAX_SUMMARY", "SealedSignoff", "SignoffService"]
