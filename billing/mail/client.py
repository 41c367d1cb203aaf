"""The one door to the SMTP server: Django's e-mail, with the settings' timeout.

Django's SMTP backend reads DJANGO_EMAIL_* (kubemon/settings.py) and gives up on a server
that does not answer within EMAIL_TIMEOUT. A message gets its Message-ID here, so that the
caller can record which message went.
"""

from email.utils import make_msgid

from django.core.mail import EmailMessage, get_connection
from django.core.mail.utils import DNS_NAME


def send(message: EmailMessage) -> str:
    """Send `message` and return its Message-ID; raise what the server or network raised.

    The SMTP backend raises smtplib.SMTPException (a recipient refused, say) or OSError
    (no server, a timeout): the caller reports it and goes on with the next message.
    """
    message_id = message.extra_headers.setdefault("Message-ID", make_msgid(domain=DNS_NAME))
    with get_connection(fail_silently=False) as connection:
        connection.send_messages([message])
    return message_id
