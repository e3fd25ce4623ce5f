"""The fixed messages that belong to no single step: welcome, help, keywords, farewells.

Each Text is one SMS. Where the Spanish needs accents that are not GSM-7 (and so gets
only 67 characters a segment), a message is split in two rather than cut, and English
keeps the same split so both languages say the same things in the same order.
The only placeholder is {reference}; {numbers} is filled by the renderer.
"""

from __future__ import annotations

from bot.intake.script import EMERGENCY_NUMBER, PROGRAM_NAME, Text

Message = tuple[Text, ...]

WELCOME: Message = (
    Text(
        en=(
            f"{PROGRAM_NAME}: safety help for witnesses and victims of violence. We are a "
            f"civilian service, not the police. In danger now? Call {EMERGENCY_NUMBER}."
        ),
        es=(
            f"{PROGRAM_NAME}: ayuda para testigos y víctimas de violencia. Somos un servicio "
            f"civil, no la policía. ¿Peligro ahora? Llame al {EMERGENCY_NUMBER}."
        ),
    ),
    Text(
        en=(
            "We share nothing with the police unless you ask. Text HELP for help, DELETE to "
            "erase what you told us, STOP to get no more messages."
        ),
        es=(
            "No compartimos nada con las autoridades salvo que usted lo pida. Escriba AYUDA "
            "para ayuda, BORRAR para borrar lo que nos dijo, STOP para no recibir mensajes. "
            "For English, text ENGLISH."
        ),
    ),
)

HELP: Message = (
    Text(
        en=(
            f"{PROGRAM_NAME} is a civilian service, not the police. "
            f"In danger now? Call {EMERGENCY_NUMBER}."
        ),
        es=(
            f"{PROGRAM_NAME} es un servicio civil, no la policía. "
            f"¿Peligro ahora? Llame al {EMERGENCY_NUMBER}."
        ),
    ),
    Text(
        en=(
            "Your phone company, Twilio (our text provider) and Telegram can see that this "
            "number contacted us, and texts are not private from them."
        ),
        es=(
            "Su compañía telefónica, Twilio y Telegram pueden ver que este número nos "
            "escribió. Los mensajes no son privados para ellos."
        ),
    ),
    Text(
        en=(
            "Text STATUS to check your request, RESTART to start over, DELETE to erase what "
            "you told us, STOP to end messages, START to get them again."
        ),
        es=(
            "Escriba ESTADO para ver su solicitud, REINICIAR para empezar de nuevo, BORRAR "
            "para borrar lo que nos dijo, STOP para no recibir mensajes, START para "
            "recibirlos otra vez."
        ),
    ),
)

OPTED_OUT: Message = (
    Text(
        en=(
            f"You will get no more messages from {PROGRAM_NAME}. Text START to get them again, "
            f"or HELP for help. In danger? Call {EMERGENCY_NUMBER}."
        ),
        es=(
            f"No recibirá más mensajes de {PROGRAM_NAME}. Escriba START para recibirlos otra "
            f"vez, o AYUDA. ¿Peligro? Llame al {EMERGENCY_NUMBER}."
        ),
    ),
)

OPTED_IN: Message = (
    Text(
        en=f"You will get messages from {PROGRAM_NAME} again.",
        es=f"Volverá a recibir mensajes de {PROGRAM_NAME}.",
    ),
)

CONFIRM_DELETE: Message = (
    Text(
        en=(
            "Erase everything you told us, and your request? This cannot be undone. "
            "Reply YES to erase. Reply NO, or anything else, to keep it."
        ),
        es=(
            "¿Borrar todo lo que nos dijo y su solicitud? No se puede deshacer. Responda SI "
            "para borrar. Responda NO, o cualquier otra cosa, para conservarlo."
        ),
    ),
)

ERASED: Message = (
    Text(
        en=(
            "Everything you told us has been erased. If you text again, we start fresh. "
            f"In danger? Call {EMERGENCY_NUMBER}."
        ),
        es=(
            "Todo lo que nos dijo fue borrado. Si vuelve a escribir, empezamos de cero. "
            f"¿Peligro? Llame al {EMERGENCY_NUMBER}."
        ),
    ),
)

NOT_ERASED: Message = (Text(en="Nothing was erased.", es="No se borró nada."),)

RESTARTED: Message = (Text(en="Starting over.", es="Empezamos de nuevo."),)

LANGUAGE_SWITCHED: Message = (
    Text(en="OK, we will write in English.", es="De acuerdo, le escribiremos en español."),
)

NO_REQUEST_YET: Message = (
    Text(en="You have not sent a request yet.", es="Aún no ha enviado una solicitud."),
)

STATUS_UNKNOWN: Message = (
    Text(
        en="We have your request {reference}. We will reply here.",
        es="Tenemos su solicitud {reference}. Le responderemos por aquí.",
    ),
)

STATUS_WAITING: Message = (
    Text(
        en="Your request {reference} is waiting for a caseworker. We will reply here.",
        es="Su solicitud {reference} espera a alguien de nuestro equipo. Le responderemos aquí.",
    ),
)

STATUS_CLAIMED: Message = (
    Text(
        en="A caseworker is working on your request {reference} and will reply here.",
        es="Alguien de nuestro equipo atiende su solicitud {reference} y le responderá aquí.",
    ),
)

STATUS_CLOSED: Message = (
    Text(
        en=(
            "Your request {reference} is closed. If you still need help, write here, or "
            "text RESTART for a new request."
        ),
        es=(
            "Su solicitud {reference} está cerrada. Si aún necesita ayuda, escriba aquí o "
            "envíe REINICIAR."
        ),
    ),
)

MEDIA_NOT_KEPT: Message = (
    Text(
        en="We do not keep pictures, voice notes or files. Please write in words.",
        es="No guardamos fotos, audios ni archivos. Por favor escriba con palabras.",
    ),
)

SUMMARY_HEADING = Text(en="Please check your answers:", es="Revise sus respuestas:")

SIMPLE_NUMBER_HINT = Text(
    en="Please send only the number of your answer, for example 1. Text HELP for help.",
    es="Por favor envíe solo el número de su respuesta, por ejemplo 1. Escriba AYUDA.",
)

CHOICE_INSTRUCTION = Text(en="Reply {numbers}:", es="Responda {numbers}:")
OR_WORD = Text(en="or", es="o")
SKIP_INSTRUCTION = Text(en="Or reply SKIP.", es="O responda OMITIR.")

DONE: Message = (
    Text(
        en=(
            "Sent. Your reference is {reference}. A caseworker will reach you the way you "
            "chose. Reply here any time; your caseworker sees it."
        ),
        es=(
            "Enviado. Su referencia es {reference}. Nuestro equipo le contactará como eligió. "
            "Puede escribir aquí cuando quiera."
        ),
    ),
    Text(
        en=(
            "Text DELETE to erase everything. Consider deleting this conversation from your "
            f"phone. In danger? Call {EMERGENCY_NUMBER}."
        ),
        es=(
            "Escriba BORRAR para borrarlo todo. Piense en borrar esta conversación de su "
            f"teléfono. ¿Peligro? Llame al {EMERGENCY_NUMBER}."
        ),
    ),
)

ACKNOWLEDGED: Message = (
    Text(
        en="Got it. Your caseworker will see this.",
        es="Recibido. La persona que lleva su caso lo va a ver.",
    ),
)

ALL_MESSAGES: dict[str, Message] = {
    "WELCOME": WELCOME,
    "HELP": HELP,
    "OPTED_OUT": OPTED_OUT,
    "OPTED_IN": OPTED_IN,
    "CONFIRM_DELETE": CONFIRM_DELETE,
    "ERASED": ERASED,
    "NOT_ERASED": NOT_ERASED,
    "RESTARTED": RESTARTED,
    "LANGUAGE_SWITCHED": LANGUAGE_SWITCHED,
    "NO_REQUEST_YET": NO_REQUEST_YET,
    "STATUS_UNKNOWN": STATUS_UNKNOWN,
    "STATUS_WAITING": STATUS_WAITING,
    "STATUS_CLAIMED": STATUS_CLAIMED,
    "STATUS_CLOSED": STATUS_CLOSED,
    "MEDIA_NOT_KEPT": MEDIA_NOT_KEPT,
    "DONE": DONE,
    "ACKNOWLEDGED": ACKNOWLEDGED,
}
