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
            "We do not work for the police and share nothing with them unless you ask or a "
            "court orders it."
        ),
        es=(
            "No trabajamos para la policía ni le compartimos nada, salvo que usted lo pida o "
            "lo ordene un juez."
        ),
    ),
    Text(
        en="Text HELP for help, DELETE to erase what you told us, STOP to get no more messages.",
        es=(
            "Escriba AYUDA para ayuda, BORRAR para borrar lo que nos dijo, ALTO para no recibir "
            "mensajes. For English, text ENGLISH."
        ),
    ),
)


def _help(*, who_can_see: Text) -> Message:
    return (
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
        who_can_see,
        Text(
            en=(
                "Text STATUS to check your request, RESTART to start over, DELETE to erase "
                "what you told us, STOP to end messages, START to get them again."
            ),
            es=(
                "Escriba ESTADO para ver su solicitud, REINICIAR para empezar de nuevo, BORRAR "
                "para borrar lo que nos dijo, ALTO para no recibir mensajes, START para "
                "recibirlos otra vez."
            ),
        ),
    )


# Each channel says honestly who else can see that this conversation happened.
HELP_SMS: Message = _help(
    who_can_see=Text(
        en=(
            "Your phone company and Twilio (our text provider) can see that this number "
            "contacted us, and texts are not private from them."
        ),
        es=(
            "Su compañía de teléfono y Twilio (nuestro proveedor) pueden ver que este número "
            "nos escribió. Los mensajes no son privados para ellos."
        ),
    )
)
HELP_TELEGRAM: Message = _help(
    who_can_see=Text(
        en=(
            "Telegram can see that your account contacted us, and these messages are not "
            "end-to-end encrypted."
        ),
        es=(
            "Telegram puede ver que su cuenta nos escribió, y estos mensajes no tienen "
            "cifrado de extremo a extremo."
        ),
    )
)
HELP_TERMINAL: Message = _help(
    who_can_see=Text(
        en="This is a practice conversation on this computer; nothing is sent anywhere.",
        es="Esta es una conversación de práctica en esta computadora; no se envía nada.",
    )
)
HELP = HELP_SMS

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
            "Reply YES to erase, or anything else to keep it."
        ),
        es=(
            "¿Borrar todo lo que nos dijo y su solicitud? No se puede deshacer. Responda SÍ "
            "para borrar, o cualquier otra cosa para conservarlo."
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
        en="Your request {reference} is waiting for a caseworker, who will answer {wait}.",
        es="Su solicitud {reference} espera a alguien de nuestro equipo, que le responderá {wait}.",
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
            "Sent. Your reference is {reference}. A caseworker will answer {wait}, the way "
            "you chose. Reply here any time."
        ),
        es=(
            "Enviado. Su referencia es {reference}. Nuestro equipo le responderá {wait}, como "
            "eligió. Puede escribir aquí cuando quiera."
        ),
    ),
    Text(
        en=(
            "Text DELETE to erase everything. Consider deleting this conversation from your "
            f"phone. In danger? Call {EMERGENCY_NUMBER}."
        ),
        es=(
            "Escriba BORRAR para borrarlo todo. Le recomendamos borrar esta conversación de "
            f"su teléfono. ¿Peligro? Llame al {EMERGENCY_NUMBER}."
        ),
    ),
)

# After the intake: what each later message is answered, and what danger gets.
SAFETY_NOW: Message = (
    Text(
        en=(
            f"If you are in danger now, call {EMERGENCY_NUMBER}. We marked your request "
            "urgent and are alerting our team now."
        ),
        es=(
            f"Si corre peligro ahora, llame al {EMERGENCY_NUMBER}. Marcamos su solicitud como "
            "urgente y estamos avisando a nuestro equipo."
        ),
    ),
)
SAFETY_IN_INTAKE: Message = (
    Text(
        en=f"If you are in danger now, call {EMERGENCY_NUMBER}. We will mark this urgent.",
        es=f"Si corre peligro ahora, llame al {EMERGENCY_NUMBER}. Lo marcaremos como urgente.",
    ),
)
CRISIS_LINE: Message = (
    Text(
        en="You can also call {crisis_line}, a civilian line open day and night.",
        es="También puede llamar al {crisis_line}, una línea civil abierta día y noche.",
    ),
)
ACK_WAITING: Message = (
    Text(
        en="Got it. A caseworker will see this.",
        es="Recibido. Alguien de nuestro equipo lo va a ver.",
    ),
)
REOPENED: Message = (
    Text(
        en="Thank you for writing. Your request is open again, and a person will see this.",
        es="Gracias por escribir. Su solicitud está abierta otra vez y una persona lo va a ver.",
    ),
)
WRONG_NUMBER: Message = (Text(en="Sorry, wrong number.", es="Perdón, número equivocado."),)
QUIET: Message = (
    Text(
        en=(
            "OK. We will not write until you do. To hide this conversation, delete this "
            "thread from your phone."
        ),
        es=(
            "De acuerdo. No le escribiremos hasta que usted escriba. Para ocultar esta "
            "conversación, borre este chat de su teléfono."
        ),
    ),
)
FAST_SENT: Message = (
    Text(
        en="Your request {reference} is sent as urgent. Someone will write {wait}.",
        es="Su solicitud {reference} se envió como urgente. Alguien le escribirá {wait}.",
    ),
)
FAST_LATER: Message = (
    Text(
        en=(
            f"OK. Your request stays urgent. Write here any time. In danger? Call "
            f"{EMERGENCY_NUMBER}."
        ),
        es=(
            "De acuerdo. Su solicitud sigue urgente. Escriba aquí cuando quiera. ¿Peligro? "
            f"Llame al {EMERGENCY_NUMBER}."
        ),
    ),
)
AMENDED: Message = (
    Text(
        en="Updated your request {reference}. A caseworker will answer {wait}.",
        es="Actualizamos su solicitud {reference}. Nuestro equipo le responderá {wait}.",
    ),
)
WAIT_MINUTES = Text(en="within about {n} minutes", es="en unos {n} minutos")
WAIT_HOURS = Text(en="within about {n} hours", es="en unas {n} horas")
WAIT_DAYS = Text(en="within about {n} days", es="en unos {n} días")
WAIT_SOON = Text(en="as soon as possible", es="lo antes posible")

ACKNOWLEDGED: Message = (
    Text(
        en="Got it. Your caseworker will see this.",
        es="Recibido. La persona que lleva su caso lo va a ver.",
    ),
)

# Once per flood (bot/flood.py): every message is kept, but not each one answered.
FLOOD_NOTICE: Message = (
    Text(
        en=(
            "We got your messages and keep every one. For now we will not answer each one; "
            "we will answer again when you write less often. In danger now? Call "
            f"{EMERGENCY_NUMBER}."
        ),
        es=(
            "Recibimos sus mensajes y los guardamos todos. Por ahora no contestamos cada uno; "
            "volveremos a contestar cuando escriba menos seguido. ¿Peligro ahora? Llame al "
            f"{EMERGENCY_NUMBER}."
        ),
    ),
)

# Understanding: confirming an answer, and what the witness is told about it.
DID_YOU_MEAN = Text(en="Did you mean: {answer}?", es="¿Quiso decir: {answer}?")
YES_LABEL = Text(en="Yes", es="Sí")
NO_LABEL = Text(en="No", es="No")
TRY_AGAIN: Message = (Text(en="OK, let us try again.", es="De acuerdo, intentemos de nuevo."),)
SAFETY_CHECK: Message = (
    Text(
        en="To be careful, we will treat this as not safe for now.",
        es="Por precaución, lo tomaremos como que no está a salvo por ahora.",
    ),
)
QUESTION_CLOSED: Message = (
    Text(en="That question is closed.", es="Esa pregunta ya está cerrada."),
)
TAKEN = Text(en="Got it: {answer}", es="Anotado: {answer}")
DONE_BUTTON = Text(en="Done", es="Listo")
PICK_ONE_FIRST = Text(
    en="Please pick at least one, then press Done.",
    es="Elija al menos una opción y luego pulse Listo.",
)
SKIPPED = Text(en="(skipped)", es="(omitido)")

ALL_MESSAGES: dict[str, Message] = {
    "WELCOME": WELCOME,
    "HELP_SMS": HELP_SMS,
    "HELP_TELEGRAM": HELP_TELEGRAM,
    "HELP_TERMINAL": HELP_TERMINAL,
    "TRY_AGAIN": TRY_AGAIN,
    "SAFETY_CHECK": SAFETY_CHECK,
    "QUESTION_CLOSED": QUESTION_CLOSED,
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
    "SAFETY_NOW": SAFETY_NOW,
    "SAFETY_IN_INTAKE": SAFETY_IN_INTAKE,
    "CRISIS_LINE": CRISIS_LINE,
    "ACK_WAITING": ACK_WAITING,
    "REOPENED": REOPENED,
    "WRONG_NUMBER": WRONG_NUMBER,
    "QUIET": QUIET,
    "FAST_SENT": FAST_SENT,
    "FAST_LATER": FAST_LATER,
    "AMENDED": AMENDED,
    "FLOOD_NOTICE": FLOOD_NOTICE,
}
